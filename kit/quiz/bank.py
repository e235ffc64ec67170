"""The questions of every notebook's quiz, in English, wrapped for the kit's catalogs (``N_``).

Each `Question` has an id (unique in the kit; it salts the answer's hash), the text, the
choices, the *sealed* answer (`kit.quiz.seal`: never the answer itself) and the source to read,
an RFC section, shown with the feedback. The instructors' key is ``solutions/quiz/answers.json``.
Generated texts are fine to edit by hand; after changing a choice's position, seal it again:
``python -c "from kit.quiz.seal import seal; print(seal('02-rcpt-first', 2))"``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..i18n import N_

__all__ = ["Question", "BANK"]


@dataclass(frozen=True)
class Question:
    """One multiple-choice question."""

    id: str
    text: str
    choices: tuple[str, ...]
    sealed: str  # sha256 of the right choice's index (kit.quiz.seal)
    source: str  # where to read up: an RFC section, or the notebook's section

    def __post_init__(self) -> None:
        if len(self.choices) < 2:
            raise ValueError(f"{self.id}: a question needs at least two choices")
        if len(self.sealed) != 64:
            raise ValueError(f"{self.id}: the answer must be sealed (a sha256 hex digest)")


#: notebook stem -> its questions, in the order they are asked
BANK: dict[str, tuple[Question, ...]] = {
    '00_start_here': (
        Question(
            '00-first',
            N_('Who speaks first when an SMTP connection opens?'),
            (N_('The client, with EHLO'),
             N_('The server, with a 220 greeting'),
             N_('Whoever is faster')),
            '28b352f5df0644e6680365e5850360dfe05cebc6819888ba3e61ef2ef1f14a54',
            'RFC 5321 §3.1'),
        Question(
            '00-accepted',
            N_('`send_mail` says `accepted: True`. Which reply did the server give after the final dot?'),
            (N_('220'),
             N_('221'),
             N_('250'),
             N_('354')),
            '808b57cbc9a8f7af48f8a321eea85bbecccad7ef24fcf2e3011497e97ea249ff',
            'RFC 5321 §4.1.1.4, §6.1'),
        Question(
            '00-return-path',
            N_('Which field did the server add at delivery to record the envelope sender?'),
            (N_('Reply-To:'),
             N_('Return-Path:'),
             N_('Sender:'),
             N_('X-Mailer:')),
            '41d9ea377db244cb53a0964afa3e0d77ddba2004fc0ab39609e3931630ad4d9e',
            'RFC 5321 §4.4'),
        Question(
            '00-envelope',
            N_('The envelope (`MAIL FROM`, `RCPT TO`) and the header (`From:`, `To:`) ...'),
            (N_('must always agree, or the server refuses the mail'),
             N_('are separate things and may differ'),
             N_('are the same lines, sent twice')),
            '64100c83699e0b5084798766477c160f5fe73b6977bc627bbdba51af52733a02',
            'RFC 5321 §2.3.1'),
        Question(
            '00-not-started',
            N_('What does `check` report for an exercise you have not started?'),
            (N_('A traceback that stops the notebook'),
             N_('"not attempted", and the notebook runs on'),
             N_('Full points')),
            'd7871b6366d7866c30162422fcb33756eb14d7fd0a9d70f2e574d9b733af293f',
            'notebook 00, "What feedback looks like"'),
    ),
    '01_history_and_architecture': (
        Question(
            '01-rfc',
            N_('Which RFC defines SMTP today?'),
            (N_('RFC 821'),
             N_('RFC 2821'),
             N_('RFC 5321'),
             N_('RFC 5322')),
            'd6faec12e2ff3efd3f8693af39f7936251f7e48399572500648acee9bea0d7e6',
            'RFC 5321 (October 2008)'),
        Question(
            '01-ehlo',
            N_('What did RFC 1869 (1995) add to SMTP?'),
            (N_('The DATA command'),
             N_('EHLO and service extensions'),
             N_('MX records'),
             N_('TLS encryption')),
            '3089239f5ccd7374b35e5025e269470557a193a2e4a46b6a8068877980b66fb2',
            'RFC 1869; RFC 5321 §2.2'),
        Question(
            '01-store',
            N_('What does "store and forward" mean?'),
            (N_('The sender waits until the recipient has read the mail'),
             N_('Each server takes responsibility, stores the mail and passes it on when it can'),
             N_("Mail is kept only in the sender's outbox")),
            '30e03d7fab0d47949f5186b316b85bc28692743eff2331aea5f264bb09b634a1',
            'RFC 5321 §2.1, §6.1'),
        Question(
            '01-mda',
            N_("Which role puts the mail into the recipient's mailbox?"),
            (N_('MUA'),
             N_('MSA'),
             N_('MX'),
             N_('MDA')),
            '49e72b87fd0f1d8cfe1f698e4b1738f799fe1f16e724ad6fc1409cee936cbf8d',
            'RFC 5598 §4'),
        Question(
            '01-port',
            N_('On which port do mail servers relay to each other?'),
            (N_('25'),
             N_('110'),
             N_('465'),
             N_('587')),
            '34d3edb4dbca6ca6026f665f28cb0fa86bc50f6ca0987a338b509810fd97c110',
            'RFC 5321 §4.5.4.2; submission ports: RFC 6409, RFC 8314'),
    ),
    '02_the_smtp_dialogue': (
        Question(
            '02-rcpt-first',
            N_('The client sends `RCPT TO:` before any `MAIL FROM:`. The reply?'),
            (N_('250'),
             N_('354'),
             N_('503'),
             N_('550')),
            '7703dffa464f25789966b000027c0ec97e95d63ad9a9fafeae9e2065a9e9f119',
            'RFC 5321 §3.3, §4.1.4'),
        Question(
            '02-no-colon',
            N_('`MAIL FROM a1@ausgedacht.de` (no colon, no angle brackets) earns:'),
            (N_('250'),
             N_('500'),
             N_('501'),
             N_('503')),
            '4d07d3a91b397912aa6986bb3c3b621e569bd92bb639e28c9af54afd2a4d3bce',
            'RFC 5321 §4.1.1.2, §4.2.2'),
        Question(
            '02-end',
            N_('What ends the message text after `DATA`?'),
            (N_('An empty line'),
             N_('A line that holds only a dot'),
             N_('QUIT'),
             N_('Closing the connection')),
            'ae0ac95bde6704eb1421341dec736589212bd6b8833389c97ef2b607c2eb9257',
            'RFC 5321 §4.1.1.4'),
        Question(
            '02-rset',
            N_('What does `RSET` do?'),
            (N_('Closes the connection'),
             N_('Aborts the current transaction; the server answers 250'),
             N_('Deletes mail already accepted')),
            'c58b0af03d42492d6cb69880bccad80236047f1104be3240b26dc2f9a58c1034',
            'RFC 5321 §4.1.1.5'),
        Question(
            '02-dot',
            N_('A line of the message starts with a dot. What does the client send?'),
            (N_('The line unchanged'),
             N_('The line with one more dot in front'),
             N_('The line without its dot')),
            '08ea377ae50b468f7f70c7726560315f9b68bc853759b04d90144204e1ae0aa8',
            'RFC 5321 §4.5.2'),
    ),
    '03_reply_codes': (
        Question(
            '03-first-digit',
            N_('How many values may the first digit of an SMTP reply code take?'),
            (N_('Four: 2, 3, 4 and 5'),
             N_('Five: 1 to 5'),
             N_('Ten: 0 to 9')),
            '3241dd51beac25dc4ec91db87fb9548695f984c74dee8eccb68ce568adf82b92',
            'RFC 5321 §4.2.1'),
        Question(
            '03-451',
            N_('A server answers `451`. What should the client do?'),
            (N_('Give up and bounce the mail'),
             N_('Try again later'),
             N_('Repeat the command at once, forever')),
            '6916340f2d2dd4b8f42bb4057296a9d14f493417de671850b97460a08fbf1b85',
            'RFC 5321 §4.2.1 (4yz)'),
        Question(
            '03-x5z',
            N_('The second digit 5 (`x5z`) says the reply is about ...'),
            (N_('syntax'),
             N_('the connection'),
             N_('the mail system'),
             N_('information or help')),
            '28d8892d21d5c6ecd4a8aef74ccc2f053f43ca2278a0df07eae35851435b3193',
            'RFC 5321 §4.2.1'),
        Question(
            '03-multiline',
            N_('Which line ends a multi-line reply?'),
            (N_('The one with a space after the code'),
             N_('An empty line'),
             N_('The one with a hyphen after the code')),
            'a2e0d9cf3299f8cf11e2ae7428e009558bb2a433d32a6f669a3fcdd7235db116',
            'RFC 5321 §4.2.1'),
        Question(
            '03-too-many',
            N_('Too many recipients: which code does RFC 5321 prescribe?'),
            (N_('452'),
             N_('503'),
             N_('550'),
             N_('552')),
            'c98d9b968ec1f84dc9431407bdbe48f9f2f8dc79cdce1b4df2dd6a3d28d6abc8',
            'RFC 5321 §4.5.3.1.10'),
    ),
    '04_message_format': (
        Question(
            '04-required',
            N_('Which header fields must every message have?'),
            (N_('From: and To:'),
             N_('Date: and From:'),
             N_('Subject: and To:'),
             N_('Message-ID: and Date:')),
            '0bce12cdb5ac6089960be18fa375663da1e5d0fca25c03c028494338a6e47cad',
            'RFC 5322 §3.6'),
        Question(
            '04-delivered',
            N_('Bob gets a mail whose `To:` names someone else. What decided that it reached Bob?'),
            (N_('The To: field'),
             N_('RCPT TO'),
             N_('The From: field'),
             N_('Reply-To:')),
            'f0231011d5fead0a5a8774f1fa3aa1026399f903a6c1e28e7e50b938b5b97912',
            'RFC 5321 §2.3.1, §3.3'),
        Question(
            '04-underscore',
            N_('A header line `In-Reply_to: <...>` (underscore) is ...'),
            (N_('another spelling of In-Reply-To:'),
             N_('a different, unknown field that mail programs ignore for threads'),
             N_('refused by the server as a syntax error')),
            '1e85b04d53ceba6b2b972b23f2b071f36a73d6398306edb56b7cffebb207e335',
            'RFC 5322 §3.6.4, §3.6.8'),
        Question(
            '04-umlaut',
            N_('A body with "ü" and a server without 8BITMIME: what must the sender do?'),
            (N_('Send the bytes as they are'),
             N_('Encode the body (quoted-printable or base64) and declare the charset'),
             N_('It cannot be sent at all')),
            'd257f0a39d2aec6345f91a0cff7bb20ff649c40c92f82fff45bf29afd0fea14b',
            'RFC 2045 §6; RFC 6152'),
        Question(
            '04-bcc',
            N_('How do `Bcc:` recipients get the mail?'),
            (N_('Through their own RCPT TO; the Bcc: field is not meant to be sent'),
             N_('The server reads the Bcc: field'),
             N_('Through Cc:')),
            'efe5c2948133af740e5265ed1efa124abb84cde5c6139778a21392ba7bbee729',
            'RFC 5322 §3.6.3'),
    ),
    '05_header_tracing': (
        Question(
            '05-order',
            N_('In which order do `Received:` fields stand?'),
            (N_('Oldest on top'),
             N_('Newest on top'),
             N_('Sorted by host name')),
            '4f18e8ec681cc8aa28d0652338e4791cb93c273a4b543ca18ef595227d1b1679',
            'RFC 5321 §4.4'),
        Question(
            '05-existing',
            N_('A relay finds `Received:` fields already in the message. It MUST ...'),
            (N_('rewrite them with its own clock'),
             N_('leave them unchanged and add its own on top'),
             N_('remove those it cannot verify')),
            'e28106d236ce23865ee38e64ef7f64dd2442bce869be13dafc6a5457c0aeb712',
            'RFC 5321 §4.4'),
        Question(
            '05-date',
            N_("Where does a `Received:` field's date begin?"),
            (N_('After the first top-level semicolon'),
             N_('After the word by'),
             N_("On the field's last line, always")),
            '1edcc084dfafd94f262be62ec1f600a61278a35fe7487fbe1b2665aabe2bd84c',
            'RFC 5321 §4.4'),
        Question(
            '05-negative',
            N_("A hop's time is earlier than the hop before it. Most likely ..."),
            (N_('the mail travelled back in time'),
             N_('two clocks differ, or a field is forged'),
             N_('the tracer is broken: take the absolute value')),
            'b7175b2e69b7392b51d208ff6b7d5e80e15ec5ef2f3b9b5b3c9a28219802c245',
            'RFC 5321 §4.4; notebook 05 §4'),
        Question(
            '05-trust',
            N_('Which `Received:` fields can the receiver trust?'),
            (N_('All of them'),
             N_('Those its own servers wrote, from the top down to its MX'),
             N_('Only the bottom one')),
            'aa45ee8fc298408f14b6d17e26c663fedea4b6dcc469b935c14a48b01d0388f1',
            'RFC 5321 §4.4, §7.1'),
    ),
    '06_mail_journey': (
        Question(
            '06-mx',
            N_('Where does an MTA learn which host takes mail for example.org?'),
            (N_('The To: field'),
             N_('The MX records of example.org in the DNS'),
             N_("The MSA's configuration")),
            'b9602a4104731bacebbb0856487493f793d5aeaf9f464503db5340eb04e9a7e9',
            'RFC 5321 §5.1'),
        Question(
            '06-implicit',
            N_('example.org has no MX record but an address record. The MTA ...'),
            (N_('cannot deliver'),
             N_('delivers to example.org itself (implicit MX)'),
             N_('asks the MSA')),
            '5051dfa4bdd860cead9faba5e515bee1c5b6de077654cb09a8dbeb4d496e33fa',
            'RFC 5321 §5.1'),
        Question(
            '06-451',
            N_('The MX answers `451` during delivery. The MTA ...'),
            (N_('bounces the mail at once'),
             N_('keeps it queued and tries again later'),
             N_('drops it silently')),
            'd9bf25c12e9c63395e0b13e1bf893446a04790b19a7457d00ae93b6b02690872',
            'RFC 5321 §4.5.4.1'),
        Question(
            '06-bounce',
            N_('The MX refuses with `550 5.1.1` after the MSA had said `250`. Who tells Alice?'),
            (N_('Nobody'),
             N_("Her provider's MTA, with a bounce (a DSN) to the MAIL FROM address"),
             N_('The MX, by writing to her mail program')),
            'fd47f7427317f5555b546319f47a50931228e5a00bde33594d9f2cd5f379f215',
            'RFC 5321 §6.1; RFC 3464'),
        Question(
            '06-null',
            N_('With which MAIL FROM is a bounce sent?'),
            (N_('The original sender'),
             N_('The null reverse-path <>'),
             N_("postmaster@ of the recipient's domain")),
            '6784513b0be7c864343a8d1e13d8303c7467a8acca4c0366b2d4d11f1f48d94b',
            'RFC 5321 §4.5.5'),
    ),
    '07_esmtp': (
        Question(
            '07-ehlo-again',
            N_('After STARTTLS and the TLS handshake the client must ...'),
            (N_('send MAIL FROM at once'),
             N_('send EHLO again'),
             N_('send AUTH before anything else')),
            'ae1a79f2065074bd7ae5ae90c8804008c00eb1c7beb0a9e4d645af824b0a65b1',
            'RFC 3207 §4.2'),
        Question(
            '07-plain',
            N_('The token after `AUTH PLAIN` is ...'),
            (N_('the password, encrypted'),
             N_('base64 of authzid NUL user NUL password'),
             N_('a hash of the password')),
            '357e74e6ad79e1b9f37c091d11f0e850761fe8f1c94c445d155787d9280df8a1',
            'RFC 4616 §2; RFC 4954 §4'),
        Question(
            '07-587',
            N_('Port 587 is for ...'),
            (N_('relay between MX servers'),
             N_('message submission from a mail program to its MSA'),
             N_('reading mail (IMAP)')),
            '2d5de75455bd67fd84fe21a02290ac97b2596a483ab90d08555599ab5ea3db92',
            'RFC 6409 §3.1'),
        Question(
            '07-size',
            N_('The server offers `SIZE 1000000`; the client sends `MAIL FROM:<a@example.test> '
               'SIZE=2000000`. The reply?'),
            (N_('250'),
             N_('354'),
             N_('552')),
            '3e6f263b3a77d1b3a89efe1531c88743f25e2fc733a53b287e54463466d4e36e',
            'RFC 1870 §6'),
        Question(
            '07-no-ehlo',
            N_('A server without extensions gets `EHLO`. What happens?'),
            (N_('It answers 250 with an empty list'),
             N_('It answers with an error, and the client falls back to HELO'),
             N_('It closes the connection')),
            'c03cc77257758b4fdab8faaad2b795c11df8f5b33e9054391ecada4d895e69e8',
            'RFC 5321 §3.2'),
    ),
    '08_trust_and_limits': (
        Question(
            '08-from',
            N_('What does SMTP itself verify about the `From:` field?'),
            (N_('That the domain exists'),
             N_('That the sender owns the address'),
             N_('Nothing')),
            '5bb3c7e8774b101beeef5a20ec8dc26a347a48d259bbb001a264e1cb540216dc',
            'RFC 5321 §7.1'),
        Question(
            '08-spf',
            N_('SPF checks ...'),
            (N_('a signature over the From: field'),
             N_('whether the sending IP may send for the MAIL FROM domain'),
             N_('the body for spam')),
            'b8eef026e5a679944690a34e6987d81e3c6194acc46300ea3c9acfd437885981',
            'RFC 7208 §2'),
        Question(
            '08-dkim',
            N_('DKIM signs ...'),
            (N_('the envelope'),
             N_('chosen header fields and the body, with a key of the signing domain'),
             N_('only the Subject:')),
            'ed627636469d825dc2b99c8bf58ad8fe453b12f4902bbdcc563a810f926d03ea',
            'RFC 6376 §3.5, §3.7'),
        Question(
            '08-dmarc',
            N_('DMARC asks whether ...'),
            (N_('SPF or DKIM passed for a domain aligned with the From: domain'),
             N_('the recipient exists'),
             N_('the mail is spam')),
            'b76df3d90a172f0a0701e233e67ead2108d000cf41af96fd3eac88eced925acc',
            'RFC 7489 §3.1'),
        Question(
            '08-vrfy',
            N_('A server answers `VRFY` with `252` for every name. Why?'),
            (N_('It is broken'),
             N_('So that VRFY tells address harvesters nothing'),
             N_('252 means the user exists')),
            '93c6fcf2ec81d4308f3faaffb81d168a8c85374c9ba788223bd743b333f414de',
            'RFC 5321 §3.5.3, §7.3'),
    ),
}
