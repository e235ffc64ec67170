"""The lab server's own Received fields, read back by the tracer: one tested core writes
them (kit.protocol.received), another reads them (kit.trace)."""

from __future__ import annotations

from kit import send_mail
from kit.server import LabServer
from kit.trace import parse_received, trace


def test_lab_received_field_parses_field_by_field(server):
    send_mail(server.host, server.port, "a@x.test", "bob@example.test", subject="t", ehlo_name="me.client.test")
    stored = server.mailbox.latest
    field = parse_received(stored.message["Received"])
    assert field.from_.startswith("me.client.test")
    assert field.by.startswith("lab.example.test")
    assert field.with_ == "ESMTP"
    assert field.id == stored.envelope.queue_id
    assert field.for_ == "<bob@example.test>"
    assert field.zone_known and abs(field.date.timestamp() - stored.envelope.received_at) < 2


def test_two_servers_make_two_hops_in_order():
    with LabServer(hostname="first.example.test") as first, LabServer(hostname="second.example.test") as second:
        send_mail(first.host, first.port, "a@x.test", "bob@example.test", subject="hop")
        raw = first.mailbox.raw(first.mailbox.keys()[0])
        body = raw.split(b"\n", 1)[1].replace(b"\n", b"\r\n")  # drop Return-Path: final delivery only
        send_mail(second.host, second.port, "a@x.test", "bob@example.test", body)
        t = trace(second.mailbox.latest.message)
    assert [h.by.split()[0] for h in t.hops] == ["first.example.test", "second.example.test"]
    assert t.hops[1].delay_seconds is not None and t.hops[1].delay_seconds >= 0
