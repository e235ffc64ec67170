"""Issue 15, item 1: servers outside the world as first-class sites. A foreign MX (here a
lab server started apart, as ``smtpkit serve`` in another terminal would be), a smarthost,
fixed ports for world servers, and DSNs that come back from outside linked into the journey
(by the returned Message-ID, or by ENVID when the report returns no Message-ID)."""

from __future__ import annotations

import socket
import time

import pytest

from kit import LabServer, send_mail
from kit.journey import DEFAULT_SITES, MailWorld, Peer, RecipientReport, Site, make_dsn

FAST = (0.2, 0.4)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def far(tmp_path):
    with LabServer(hostname="mx.far.example", domains=["far.example"], maildir=str(tmp_path / "far"),
                   durable=False) as server:
        yield server


@pytest.mark.parametrize("returned", ["message", "envid only"])
def test_a_foreign_mx_and_its_dsn_in_the_journey(far, returned):
    port = _free_port()
    with MailWorld(retry=FAST, ports={"mx.uni.example": port},
                   peers=[Peer("mx.far.example", far.port, domains=("far.example",))]) as world:
        assert world.server("mx.uni.example").port == port  # fixed, so the outside can send back
        assert world.dns.route("far.example")[0].host == "mx.far.example"
        sent = world.send("alice@uni.example", "zoe@far.example", subject="Far away", body="x",
                          notify="SUCCESS,FAILURE", envid="ENV-FAR")
        world.wait_until_idle()
        got = far.mailbox.latest
        assert got["Message-ID"] == sent.message_id and got["Return-Path"] == "<alice@uni.example>"
        attempt = world.journey(sent).attempts()[0]
        assert attempt.peer == "mx.far.example" and attempt.outcome == "ok" and "foreign server" in attempt.note
        assert world.roles()["mx.far.example"] == "foreign MX"
        assert any(r["host"] == "mx.far.example" and "outside" in r["role"] for r in world.rows())

        # The far server reports the delivery, as a real MTA does for NOTIFY=SUCCESS (RFC 3461).
        original = got.message.as_bytes() if returned == "message" else b"Subject: Far away\r\n\r\nx\r\n"
        dsn = make_dsn(reporting_mta="mx.far.example", sender="alice@uni.example", reports=[
            RecipientReport("zoe@far.example", "delivered", "2.0.0", original_recipient="rfc822;zoe@far.example")],
            original=original, arrival=time.time(), envid="ENV-FAR", ret="HDRS")
        back = send_mail("127.0.0.1", port, "", ["alice@uni.example"], dsn, ehlo_name="mx.far.example")
        assert back.ok, back.error
        world.wait_until_idle()
        journey = world.journey(sent)
        assert journey.dsn_ids == [str(dsn["Message-ID"])]
        link = next(e for e in journey.events if e.kind == "dsn")
        assert link.actor == "mx.far.example" and "delivered 2.0.0" in link.note
        assert link.recipients == ("zoe@far.example",)
        dsn_events = [e.kind for e in journey.events if e.message_id == str(dsn["Message-ID"])]
        assert dsn_events == ["filed"]  # filed into Alice's mailbox by the world's MDA
        assert journey.picture() is not None


def test_a_smarthost_takes_everything(tmp_path):
    with LabServer(hostname="relay.isp.example", domains=["example.org"], maildir=str(tmp_path / "isp"),
                   durable=False) as isp:
        uni = DEFAULT_SITES[0]
        sites = (Site(uni.domain, uni.users, uni.mx, uni.msa, uni.passwords, smarthost="relay.isp.example"),
                 DEFAULT_SITES[1])
        with MailWorld(sites, retry=FAST, peers=[Peer("relay.isp.example", isp.port, role="smarthost")]) as world:
            sent = world.send("alice@uni.example", "bob@example.org", subject="Via the ISP", body="x")
            world.wait_until_idle()
            assert [a.peer for a in world.journey(sent).attempts()] == ["relay.isp.example"]
            assert isp.mailbox.latest["Message-ID"] == sent.message_id
            assert not world.mailbox("bob@example.org").messages()  # the MX lookup was not made


def test_bad_declarations_are_refused():
    with pytest.raises(ValueError, match="not a declared Peer"):
        MailWorld([Site("a.example", ("x",), ((10, "mx.a.example"),), smarthost="nowhere.example")])
    with pytest.raises(ValueError, match="names no server"):
        MailWorld(ports={"mx.nowhere.example": 2525})
    with pytest.raises(ValueError, match="one site"):
        MailWorld(peers=[Peer("mx.x.example", 2525, domains=("example.org",))])
    with pytest.raises(ValueError, match="port"):
        Peer("mx.x.example", 0)


def test_the_world_picture_shows_a_foreign_peer():
    from matplotlib.text import Text

    with MailWorld(peers=[Peer("mx.far.example", 2525, domains=("far.example",))]) as world:
        texts = " ".join(t.get_text() for t in world.picture().findobj(Text))
        assert "outside the world" in texts and "mx.far.example" in texts and "127.0.0.1:2525" in texts
    with MailWorld() as plain:
        assert "outside the world" not in " ".join(t.get_text() for t in plain.picture().findobj(Text))
