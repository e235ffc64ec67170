"""Exercises of notebook 01 (history and architecture): who does what on a mail's journey.

The actors of RFC 5321 §2.3.10 and RFC 6409 (submission), as the seed's life cycle of an
e-mail names them: MUA, MSA, MTA, MX (the MTA a domain's MX record points to), MDA.
"""

from __future__ import annotations

from ..i18n import N_, _
from ._exercise import Exercise
from ._registry import register
from ._tests import Outcome, Test

#: The journey the notebook describes, one step per entry: the role that step plays and a hint for a
#: wrong answer. The hint restates the question to ask about the step and never names the role, so
#: that feedback cannot be read off as the answer key.
JOURNEY = (
    (N_("Alice writes the mail in Thunderbird on her laptop."), "MUA",
     N_("which program does a person use to write and read mail?")),
    (N_("Thunderbird hands it to smtp.uni.example on port 587, after logging in."), "MSA",
     N_("port 587 after a login is message submission (RFC 6409 §3.1): which agent accepts mail "
        "from its own users and checks it before it travels on?")),
    (N_("smtp.uni.example looks up the MX record of example.org and connects to mx.example.org "
        "on port 25."), "MTA",
     N_("here the university's server passes the mail on to another organisation's server, as a "
        "client on port 25 (RFC 5321 §2.3.10)")),
    (N_("mx.example.org accepts the mail because example.org is its own domain."), "MX",
     N_("this server is named by the MX record of the recipient's domain (RFC 5321 §5.1)")),
    (N_("Dovecot on the same host files the mail into Bob's mailbox (over LMTP)."), "MDA",
     N_("which agent puts a mail into the recipient's mailbox?")),
    (N_("Bob reads it on his phone over IMAP."), "MUA", N_("a person reads mail with this app: which agent is it?")),
)
ROLES = ("MUA", "MSA", "MTA", "MX", "MDA")
#: Steps (index into JOURNEY) where another role is right too: an MX *is* an MTA (RFC 5321 §2.3.10,
#: §5.1), so step 4 takes both; MX is the more specific answer.
ALSO_RIGHT = {3: ("MTA",)}
#: What a wrong step shows as "expected": the choices, not the answer.
_CHOICES = N_("one of {roles}", roles=", ".join(ROLES))


def _step_test(index: int, role: str, why: str) -> Test:
    also = ALSO_RIGHT.get(index, ())

    def judge(call) -> Outcome:
        got = call()
        shown = "name_the_roles()"
        if type(got) is not list:
            return Outcome(False, _("return a list of role names, one per step"), shown, _("a list"), got)
        if len(got) != len(JOURNEY):
            return Outcome(False, _("the journey has {n} steps; return one role per step").format(n=len(JOURNEY)),
                           shown, _("{n} roles").format(n=len(JOURNEY)), got)
        answer = got[index]
        step = _("step {n}: {text}").format(n=index + 1, text=_(JOURNEY[index][0]))
        if type(answer) is not str or answer.strip().upper() not in ROLES:
            return Outcome(False, _("step {n}: use one of {roles}").format(n=index + 1, roles=", ".join(ROLES)),
                           step, _(_CHOICES), answer)
        ok = answer.strip().upper() in (role, *also)
        return Outcome(ok, "" if ok else _("step {n}: {why}").format(n=index + 1, why=_(why)), step,
                       role if ok else _(_CHOICES), answer)

    return Test(N_("step {n}", n=index + 1), 1, judge)


NAME_THE_ROLES = register(Exercise(
    id="architecture.roles",
    title=N_("Name the role of each step of a mail's journey"),
    function="name_the_roles",
    hint=N_("Ask of each step: does a person use it (MUA), does it accept mail from its own users "
            "(MSA), does it pass mail on to another server (MTA), is it the server a domain's MX "
            "record names (MX), or does it put the mail into a mailbox (MDA)? An MX is an MTA too: "
            "either counts for that step."),
    tests=tuple(_step_test(i, role, why) for i, (_, role, why) in enumerate(JOURNEY)),
))
