"""Issue 13, the tracer: the date after the last ';' and TLS per hop (RFC 5321 §4.4, RFC 3848)."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from kit.trace import command, parse_received, trace

DATA = Path(__file__).parent / "data" / "received"
UTC = timezone.utc

TWO_SEMICOLONS = ("from mail.example.com (mail.example.com [192.0.2.1]) by mx.example.org (Postfix) "
                  "with ESMTP id 4F3D2;\r\n\tfor <a@example.org>; Tue, 7 Mar 2017 14:29:24 -0800")
POSTFIX_TLS = ("from gal.example (gal.example [192.0.2.7]) (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 "
               "(256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256) "
               "(No client certificate requested) by mx.example.org (Postfix) with ESMTP id C95E9 "
               "for <b@example.org>; Sun, 27 Aug 2023 03:00:06 -0700 (PDT)")


def test_the_date_follows_the_last_semicolon():
    # RFC 5321 §4.4: Stamp = From-domain By-domain Opt-info [CFWS] ";" FWS date-time
    f = parse_received(TWO_SEMICOLONS)
    assert f.date == datetime(2017, 3, 7, 22, 29, 24, tzinfo=UTC)
    assert f.zone_known
    assert f.date_text == "Tue, 7 Mar 2017 14:29:24 -0800"
    assert f.id == "4F3D2"  # the ';' glued to the id is a separator, not part of it
    assert f.for_ == "<a@example.org>"


def test_a_semicolon_inside_a_comment_or_quoted_string_is_not_the_date():
    f = parse_received('from a (x; y) by b with ESMTP for <"p;q"@example.org>; Tue, 7 Mar 2017 14:29:24 -0800')
    assert f.date == datetime(2017, 3, 7, 22, 29, 24, tzinfo=UTC)
    assert f.for_ == '<"p;q"@example.org>'


@pytest.mark.parametrize(("field", "tls"), [
    (POSTFIX_TLS, "TLSv1.3 TLS_AES_256_GCM_SHA384"),
    ("from x by mx.google.com with ESMTPS id a1 for <b@example.org> (version=TLS1_3 "
     "cipher=TLS_AES_256_GCM_SHA384 bits=256/256); Tue, 7 Mar 2017 14:29:24 -0800", "TLS1_3 TLS_AES_256_GCM_SHA384"),
    ("from x ([192.0.2.1]) by y with esmtps (TLS1.3) tls TLS_AES_256_GCM_SHA384 (Exim 4.98) id 1; "
     "Tue, 7 Mar 2017 14:29:24 -0800", "TLS_AES_256_GCM_SHA384"),
    ("from x by y with ESMTPSA id 1; Tue, 7 Mar 2017 14:29:24 -0800", "ESMTPSA"),
    ("from x by y with LMTPS id 1; Tue, 7 Mar 2017 14:29:24 -0800", "LMTPS"),
    ("from x by y with ESMTPA id 1; Tue, 7 Mar 2017 14:29:24 -0800", None),
    ("from x by y with ESMTP id 1; Tue, 7 Mar 2017 14:29:24 -0800", None),
    ("from x (using the back door) by y with SMTP id 1; Tue, 7 Mar 2017 14:29:24 -0800", None),
])
def test_tls_per_hop(field, tls):
    assert parse_received(field).tls == tls


def message(*fields: str) -> str:
    return "".join(f"Received: {f}\r\n" for f in fields) + "Subject: x\r\n\r\nbody\r\n"


def test_trace_table_and_json_show_tls_per_hop(tmp_path, capsys):
    path = tmp_path / "m.eml"
    path.write_text(message(POSTFIX_TLS, "from laptop ([10.0.0.2]) by gal.example with ESMTP id 1; "
                                         "Sun, 27 Aug 2023 02:59:59 -0700"))
    parser = argparse.ArgumentParser()
    command.configure(parser)
    assert command.run(parser.parse_args([str(path)])) == 0
    text = capsys.readouterr().out
    header, first, second = text.splitlines()[:3]
    assert header.split()[-1] == "tls"
    assert "TLSv1.3 TLS_AES_256_GCM_SHA384" in second and "TLS" not in first.split("ESMTP", 1)[1]
    assert command.run(parser.parse_args([str(path), "--json"])) == 0
    hops = json.loads(capsys.readouterr().out)["hops"]
    assert [h["tls"] for h in hops] == [None, "TLSv1.3 TLS_AES_256_GCM_SHA384"]
    assert "<th" in trace(path.read_bytes())._repr_html_() and "TLSv1.3" in trace(path.read_bytes())._repr_html_()


def test_real_chain_with_tls_comments():
    t = trace((DATA / "list_sparclinux_exim_postfix_skew.eml").read_bytes())
    assert any(h.tls and h.tls.startswith("TLSv1.2 ECDHE") for h in t)
