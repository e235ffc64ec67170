"""Exercises of notebook 01 (history and architecture): who does what on a mail's journey.

The actors of RFC 5321 §2.3.10 and RFC 6409 (submission), as the seed's life cycle of an
e-mail names them: MUA, MSA, MTA, MX (the MTA a domain's MX record points to), MDA.
"""

from __future__ import annotations

from ._exercise import Exercise
from ._registry import register
from ._tests import Outcome, Test

#: The journey the notebook describes, one step per entry, and the role that step plays.
JOURNEY = (
    ("Alice writes the mail in Thunderbird on her laptop.", "MUA",
     "the program a person reads and writes mail with is the Mail User Agent"),
    ("Thunderbird hands it to smtp.uni.example on port 587, after logging in.", "MSA",
     "port 587 with a login is message submission (RFC 6409): the Mail Submission Agent"),
    ("smtp.uni.example looks up the MX record of example.org and connects to mx.example.org "
     "on port 25.", "MTA", "a server that relays mail onward to another server is a Mail Transfer Agent"),
    ("mx.example.org accepts the mail because example.org is its own domain.", "MX",
     "the server named by the recipient domain's MX record is the mail exchanger"),
    ("Dovecot on the same host files the mail into Bob's mailbox (over LMTP).", "MDA",
     "whoever puts the mail into the mailbox is the Mail Delivery Agent"),
    ("Bob reads it on his phone over IMAP.", "MUA", "Bob's mail app is a Mail User Agent too"),
)
ROLES = ("MUA", "MSA", "MTA", "MX", "MDA")


def _step_test(index: int, role: str, why: str) -> Test:
    def judge(call) -> Outcome:
        got = call()
        shown = "name_the_roles()"
        if type(got) is not list:
            return Outcome(False, "return a list of role names, one per step", shown, "a list", got)
        if len(got) != len(JOURNEY):
            return Outcome(False, f"the journey has {len(JOURNEY)} steps; return one role per step",
                           shown, f"{len(JOURNEY)} roles", got)
        answer = got[index]
        if type(answer) is not str or answer.strip().upper() not in ROLES:
            return Outcome(False, f"step {index + 1}: use one of {', '.join(ROLES)}", shown, role, answer)
        ok = answer.strip().upper() == role
        return Outcome(ok, "" if ok else f"step {index + 1}: {why}", f"step {index + 1}: {JOURNEY[index][0]}",
                       role, answer)

    return Test(f"step {index + 1}", 1, judge)


NAME_THE_ROLES = register(Exercise(
    id="architecture.roles",
    title="Name the role of each step of a mail's journey",
    function="name_the_roles",
    hint="Ask of each step: does a person use it (MUA), does it accept mail from its own users (MSA), "
         "does it pass mail on to another server (MTA), is it the server a domain's MX record names (MX), "
         "or does it put the mail into a mailbox (MDA)?",
    tests=tuple(_step_test(i, role, why) for i, (_, role, why) in enumerate(JOURNEY)),
))
