"""Issue 13, the facts: what the instructor notebooks state, read against the RFCs.

Each test names the fact and the RFC section; the wrong wording that was there before is
asserted absent, the right one present."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = {p.name[:2]: p for p in sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))}


def cells(nb: str) -> list[str]:
    data = json.loads(SOLUTIONS[nb].read_text("utf-8"))
    return ["".join(c["source"]) for c in data["cells"] if c["cell_type"] == "markdown"]


def text(nb: str) -> str:
    return re.sub(r"\s+", " ", "\n\n".join(cells(nb)))


def code(nb: str) -> str:
    data = json.loads(SOLUTIONS[nb].read_text("utf-8"))
    return "\n".join("".join(c["source"]) for c in data["cells"] if c["cell_type"] == "code")


# -- wrong ----------------------------------------------------------------------------------------

def test_delivered_to_is_rfc_9228():
    assert "Not in any RFC" not in text("04")
    row = next(line for line in "\n".join(cells("04")).splitlines() if line.startswith("| `Delivered-To: <...@imap"))
    assert "https://www.rfc-editor.org/rfc/rfc9228" in row


def test_rfc_5321_obsoletes_2821_and_updates_1123_only():
    """RFC 5321's header: Obsoletes: 2821; Updates: 1123. RFC 2821 obsoleted 821, 974 and 1869."""
    t = text("01")
    assert "obsoletes RFCs 821, 974, 1869 and 2821" not in t
    assert "it obsoletes RFC 2821 and updates RFC 1123" in t
    assert "RFCs 821, 974 and 1869 had already been obsoleted by RFC 2821" in t


# -- misleading ------------------------------------------------------------------------------------

@pytest.mark.parametrize("nb", ["01", "05"])
def test_relays_do_not_drop_return_path(nb):
    """RFC 5321 §4.4: relays MUST NOT inspect the data for Return-Path; final delivery adds it."""
    t = text(nb)
    assert "a relay drops it" not in t and "so `forward` drops it" not in t
    assert '"MUST NOT inspect the message data"' in t and "rfc5321#section-4.4" in t


def test_retry_schedule_gives_up_after_4_to_5_days():
    """RFC 5321 §4.5.4.1: "the give-up time generally needs to be at least 4-5 days"."""
    from kit.exercises.answers.trust import retry_policy

    waited, attempt = 0, 1
    while (wait := retry_policy(451, attempt)) != "bounce":
        waited, attempt = waited + wait, attempt + 1
    assert waited >= 4 * 86400, waited / 3600
    t = text("08")
    assert f"Try {attempt} is the last" in t and "Try 6 is the last" not in t
    assert "at least 4-5 days" in t
    assert "attempt < 6" not in code("08") and f"attempt < {attempt}" in code("08")


def test_forwarding_keeps_dkim_lists_break_it():
    t = text("08")
    assert "usually removed or broken by the next forwarder" not in t
    assert "A plain forwarder leaves a DKIM signature intact" in t and "rfc8617" in t


def test_452_is_insufficient_system_storage():
    """RFC 5321 §4.2.2: 452 insufficient system storage; a full mailbox is X.2.2 (RFC 3463 §3.3)."""
    t = text("03")
    assert "452: mailbox full" not in t
    assert "**452: insufficient system storage**" in t and "rfc3463#section-3.3" in t


def test_forged_hop_statement_names_its_rules_and_caveat():
    t = text("08")
    assert "This is a heuristic" in t and "no `from` at all" in t and "127.0.0.1" in t and "-600" in t


# -- polish ------------------------------------------------------------------------------------------

def test_helo_acceptance_cites_appendix_f3():
    t = text("07")
    assert "accept `HELO` ([§4.1.4]" not in t
    assert "accept `HELO` ([Appendix F.3](https://www.rfc-editor.org/rfc/rfc5321#appendix-F.3))" in t


def test_dsn_defaults_and_ret_per_message():
    """RFC 3461 §4.1: no NOTIFY may mean FAILURE or FAILURE,DELAY; RET (§4.3) is a MAIL parameter."""
    t = text("06")
    assert "Without `NOTIFY`, a sender gets reports of failures only" not in t
    assert "`NOTIFY=FAILURE` or `NOTIFY=FAILURE,DELAY`" in t
    assert "`RET` belongs to the whole message and goes on `MAIL FROM`" in t


def test_ehlo_required_since_rfc_2821():
    t = text("01")
    assert "Since RFC 5321 servers MUST support" not in t
    assert "since RFC 2821 (2001) servers MUST support it" in t


def test_not_every_reply_carries_an_enhanced_code():
    """RFC 2034 §4: not the greeting, not the replies to HELO/EHLO, no 3yz."""
    t = text("07")
    assert "Every reply above carried a second code" not in t
    assert "rfc2034#section-4" in t and "the `354` did not" in t


def test_08_and_05_agree_on_which_received_fields_are_facts():
    assert "Only the top `Received:` field, written by your own server, is a fact" not in text("08")
    for nb in ("05", "08"):
        assert "own servers wrote" in text(nb), nb
        assert "what the client claimed" in text(nb) or "what that client claimed" in text(nb), nb


# -- the seed ------------------------------------------------------------------------------------------

def test_seed_freenet_delays_and_analyser_are_used():
    t = text("05")
    assert all(s in t for s in ("**60 min**", "**2 min**", "**1 s**", "mx17.freenet.de"))
    assert "https://toolbox.googleapps.com/apps/messageheader/analyzeheader" in t


def test_seed_links_iana_registry_and_reconciles_piping_fifo_and_naming():
    t7, t6 = text("07"), text("06")
    assert "https://www.iana.org/assignments/mail-parameters/mail-parameters.xhtml" in t7
    assert '"PIPING"' in t7 and "rfc2920#section-3" in t7
    assert "the E for *extended*" in t7 and "*enhanced*" in t7
    assert "FIFO" in t6 and "rfc5321#section-4.5.4.1" in t6


def test_06_points_forward_to_07_for_starttls_auth_dsn():
    first = next(c for c in cells("06") if "STARTTLS" in c)
    assert "07_esmtp.ipynb" in first


def test_each_seed_correction_is_made_once():
    """The slide's "required: From and To" and its ports are corrected once, then linked."""
    said = {nb: len(re.findall(r'"(required: )?From and To"|\*\*From and To\*\*', text(nb))) for nb in SOLUTIONS}
    assert sum(said.values()) == 1 and said["04"] == 1, said
    ports = {nb: text(nb).count("port 25 or 465, 587") for nb in SOLUTIONS}
    assert sum(ports.values()) == 1 and ports["01"] == 1, ports


def test_nothing_is_coming():
    for nb in SOLUTIONS:
        assert "(coming)" not in text(nb), nb


def test_the_date_follows_the_last_semicolon():
    """RFC 5321 §4.4: Stamp = ... [CFWS] ";" FWS date-time; a ';' may also stand between clauses."""
    t = text("05")
    assert "after the first `;`" not in t and "the first `;`:" not in t
    assert "after the last `;` that is outside comments" in t
    assert 'words[::-1].index(";")' in code("05")
