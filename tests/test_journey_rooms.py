"""Issue 15, the house with rooms: one spool reader woken by commits, a worker that sleeps,
no import circle in kit.journey, one client (send_mail with MAIL/RCPT parameters), and a
Return-Path written by final delivery only."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

from kit import LabServer, send_mail
from kit.journey import MailWorld
from kit.server import SpoolReader

JOURNEY = Path(__file__).resolve().parent.parent / "kit" / "journey"


def _imports(path: Path) -> set[str]:
    """Sibling modules a module of kit.journey imports, anywhere in it (functions and
    TYPE_CHECKING blocks included: a lazy import is still an edge)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                out.add(node.module.split(".")[0])
            else:
                out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("kit.journey."):
            out.add(node.module.split(".")[2])
    return out


def test_the_journey_package_has_no_import_circle():
    modules = {p.stem: p for p in JOURNEY.glob("*.py") if p.stem != "__init__"}
    graph = {name: _imports(path) & set(modules) for name, path in modules.items()}
    assert "picture" in graph["journal"] and "events" in graph["picture"]  # the checker sees lazy imports

    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return path + [start]
                if nxt not in path:
                    stack.append((nxt, path + [nxt]))
        return None

    cycles = [c for c in (cycle_from(m) for m in graph) if c]
    assert not cycles, f"import circle: {' -> '.join(cycles[0])}"


def test_the_checker_finds_a_circle(tmp_path):
    (tmp_path / "a.py").write_text("from .b import x\n")
    (tmp_path / "b.py").write_text("def f():\n    from .a import y\n")
    assert _imports(tmp_path / "a.py") == {"b"} and _imports(tmp_path / "b.py") == {"a"}


def test_neutral_dns_and_public_server_face():
    trust = (JOURNEY.parent / "trust" / "zones.py").read_text()
    assert "journey" not in "".join(s for s in trust.splitlines() if s.startswith(("from", "import")))
    for path in JOURNEY.glob("*.py"):  # the server's public face only: no kit.server.<private module>
        private = [n.module for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ImportFrom)
                   and (n.module or "").replace("kit.", "", 1).startswith("server.")]
        assert not private, (path.name, private)


def test_spool_reader_takes_what_is_new_once(tmp_path):
    with LabServer(maildir=str(tmp_path / "spool"), durable=False) as server:
        reader = SpoolReader(server.mailbox, server.config.hostname)
        woken = []
        server.mailbox.on_commit(lambda: woken.append(1))
        assert not reader.pending() and reader.take() == []
        for i in range(3):
            assert send_mail(server.host, server.port, "a@example.test", ["b@example.test"], subject=f"m{i}").ok
        assert len(woken) == 3 and reader.pending()
        first = reader.take(limit=2)
        assert [item.subject for item in first] == ["m0", "m1"]
        assert first[0].envelope.mail_from == "a@example.test" and first[0].message_id.startswith("<")
        assert [item.subject for item in reader.take()] == ["m2"]
        assert not reader.pending() and reader.take() == []
        send_mail(server.host, server.port, "a@example.test", ["b@example.test"], subject="m3")
        assert [item.subject for item in reader.take()] == ["m3"]  # only the new one, not the four


def test_return_path_only_on_final_delivery(tmp_path):
    with LabServer(maildir=str(tmp_path / "a"), durable=False) as final, \
            LabServer(maildir=str(tmp_path / "b"), durable=False, final_delivery=False) as relay:
        for server in (final, relay):
            send_mail(server.host, server.port, "a@example.test", ["b@example.test"], subject="rp")
        assert final.mailbox.latest["Return-Path"] == "<a@example.test>"
        assert relay.mailbox.latest["Return-Path"] is None and relay.mailbox.latest["Received"]


def test_send_mail_parameters_on_the_wire(tmp_path):
    with LabServer(maildir=str(tmp_path / "m"), durable=False) as server:
        result = send_mail(server.host, server.port, "a@example.test", ["b@example.test", "c@example.test"],
                           subject="params", body="x", ret="HDRS", envid="E-15", notify="SUCCESS,FAILURE",
                           orcpt=True, size=True, body_type="8BITMIME", smtputf8=True)
        assert result.ok and result.unsent_params == []
        lines = [line.text for line in result.transcript.new_lines(0) if line.direction == "client"]
        mail = next(line for line in lines if line.startswith("MAIL"))
        size = int(mail.split("SIZE=")[1].split()[0])
        assert "RET=HDRS" in mail and "ENVID=E-15" in mail and "BODY=8BITMIME" in mail and "SMTPUTF8" in mail
        assert size > 50
        rcpt = [line for line in lines if line.startswith("RCPT")]
        assert rcpt == ["RCPT TO:<b@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.test",
                        "RCPT TO:<c@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c@example.test"]
        env = server.mailbox.latest.envelope
        assert "RET=HDRS" in env.mail_options and "ORCPT=rfc822;b@example.test" in env.rcpt_options["b@example.test"]


def test_send_mail_leaves_out_what_the_server_does_not_offer():
    from tiny_peer import TinyPeer

    def plain(line, state):
        verb = line.split(" ", 1)[0].upper()
        replies = {"EHLO": b"250-old.example\r\n250 PIPELINING\r\n", "MAIL": b"250 2.1.0 Ok\r\n",
                   "RCPT": b"250 2.1.5 Ok\r\n", "DATA": b"354 go on\r\n", ".": b"250 2.0.0 Ok: queued as X\r\n",
                   "QUIT": b"221 Bye\r\n"}
        return replies.get(verb, b""), verb == "QUIT"

    with TinyPeer(b"220 old.example ESMTP\r\n", plain, max_connections=2) as peer:
        result = send_mail(peer.host, peer.port, "a@example.test", "b@example.test", subject="s", body="x",
                           notify="NEVER", ret="FULL", size=True)
        assert result.ok and sorted(result.unsent_params) == ["NOTIFY", "RET", "SIZE"]
        assert peer.received[0][1] == "MAIL FROM:<a@example.test>"
        refused = send_mail(peer.host, peer.port, "a@example.test", "b@example.test", subject="s", body="x",
                            smtputf8=True)
        assert not refused.ok and "SMTPUTF8" in refused.error


@pytest.fixture(scope="module")
def world():
    with MailWorld(retry=(0.2, 0.4)) as w:
        yield w


def test_the_worker_sleeps_while_nothing_happens(world):
    sent = world.send("alice@uni.example", "bob@example.org", subject="Then quiet", body="x")
    world.wait_until_idle()
    assert world.journey(sent).delivered_to == ["bob@example.org"]
    rounds, cpu = world.worker.rounds, world.worker.cpu_seconds()
    time.sleep(1.0)
    assert world.worker.rounds == rounds  # not one round in a quiet second
    assert world.worker.cpu_seconds() - cpu < 0.01
    start = time.monotonic()
    world.wait_until_idle()  # idle already: returns at once, no polling interval
    assert time.monotonic() - start < 0.05


def test_world_servers_write_no_return_path_and_the_mda_does(world):
    world.send("alice@uni.example", "bob@example.org", subject="One Return-Path", body="x")
    world.wait_until_idle()
    spooled = world.server("mx.example.org").mailbox.latest
    assert spooled["Return-Path"] is None
    stored = world.mailbox("bob@example.org").find(subject="One Return-Path")[0]
    assert stored.message.get_all("Return-Path") == ["<alice@uni.example>"]


def test_a_round_lists_no_spool_directory(world, monkeypatch):
    """Consumed spools do not grow the work: after many mails a round still reads only what
    is new (the envelope log from where it stopped), never a listing of the Maildirs."""
    for i in range(15):
        world.send("alice@uni.example", "carol@example.org", subject=f"Fill {i}", body="x")
    world.wait_until_idle()
    import mailbox

    def no_listing(self):
        raise AssertionError("a spool was listed")

    monkeypatch.setattr(mailbox.Maildir, "_refresh", no_listing)
    sent = world.send("alice@uni.example", "bob@example.org", subject="After many", body="x")
    world.wait_until_idle()
    assert world.errors == []
    assert world.journey(sent).delivered_to == ["bob@example.org"]


def test_an_error_inside_the_mta_defers_and_bounces_without_a_loop(world, monkeypatch):
    from kit.journey.mta import MTA

    def broken(self, entry, host, recipients):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(MTA, "_transaction", broken)
    sent = world.send("alice@uni.example", "bob@example.org", subject="Broken MTA", body="x")
    world.wait_until_idle(timeout=10)
    monkeypatch.undo()
    journey = world.journey(sent)
    errors = [e for e in journey.events if e.kind == "error" and e.message_id == sent.message_id]
    assert len(errors) == 3 and all("simulated bug" in e.note and e.outcome == "deferred" for e in errors)
    assert world.errors == []  # handled per entry: the worker itself never failed
    world.wait_until_idle()
    dsn_ids = world.journey(sent).dsn_ids
    assert len(dsn_ids) == 1
