"""The diagrams of notebook 01: what they show, that they agree with their data and the exercise,
and that they are deterministic pictures that display as PNG in Jupyter."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from kit.exercises.architecture import ROLES as EXERCISE_ROLES
from kit.ui.diagrams import ACTORS, HOPS, RFC_HISTORY, ROLES, actors_diagram, png_bytes, rfc_timeline


def texts(fig: Figure) -> str:
    """Every piece of text drawn on the figure, joined (suptitle, axes texts, annotations)."""
    parts = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        parts += [t.get_text() for t in ax.texts]
        parts += [t.get_text() for t in ax.get_yticklabels()]
        parts.append(ax.get_title())
    return "\n".join(parts)


def test_the_chain_is_the_one_the_course_teaches():
    roles = {a.key: a.role for a in ACTORS}
    chain = [(roles[h.source], roles[h.target], h.protocol) for h in HOPS]
    assert chain == [
        ("MUA", "MSA", "SMTP"), ("MSA", "MTA", "SMTP"), ("MTA", "MX", "SMTP"),
        ("MX", "MDA", "LMTP"), ("MDA", "mailbox", "file"), ("mailbox", "MUA", "IMAP or POP3"),
    ]
    details = {(roles[h.source], roles[h.target]): h.detail + " " + h.rfc for h in HOPS}
    assert "587" in details[("MUA", "MSA")] and "RFC 6409" in details[("MUA", "MSA")]
    assert "25" in details[("MSA", "MTA")] and "25" in details[("MTA", "MX")]
    assert "RFC 2033" in details[("MX", "MDA")]
    assert "RFC 9051" in details[("mailbox", "MUA")] and "RFC 1939" in details[("mailbox", "MUA")]
    # every role the exercise asks about is drawn
    assert set(EXERCISE_ROLES) <= {a.role for a in ACTORS} <= set(ROLES)


def test_actors_diagram_draws_every_actor_and_labelled_arrow():
    fig = actors_diagram()
    assert isinstance(fig, Figure)
    drawn = texts(fig)
    for actor in ACTORS:
        assert actor.role in drawn
    for hop in HOPS:
        assert f"{hop.protocol}\n{hop.detail}" in drawn
    assert "MX lookup" in drawn and "Received:" in drawn
    assert "Who does what" in drawn


def test_highlight_marks_the_named_roles_and_rejects_unknown_ones():
    plain = actors_diagram()
    marked = actors_diagram(highlight=["mx", "MDA"])
    assert png_bytes(plain) != png_bytes(marked)
    frames = [p for p in marked.axes[0].patches if p.get_linewidth() > 3]
    assert len(frames) == 2
    assert len([p for p in actors_diagram(highlight="MUA").axes[0].patches if p.get_linewidth() > 3]) == 2
    with pytest.raises(ValueError, match="unknown role 'SMTP'"):
        actors_diagram(highlight="SMTP")
    with pytest.raises(ValueError):
        actors_diagram(highlight=[3])


def test_pictures_are_deterministic_pngs():
    first, second = png_bytes(actors_diagram()), png_bytes(actors_diagram())
    assert first.startswith(b"\x89PNG\r\n\x1a\n") and first == second
    assert png_bytes(rfc_timeline()) == png_bytes(rfc_timeline())
    assert b"Software" not in first  # no matplotlib version baked into the file


def test_figures_show_themselves_as_png_without_the_inline_backend():
    for fig in (actors_diagram(), rfc_timeline()):
        assert fig._repr_png_().startswith(b"\x89PNG")


def test_rfc_history_facts():
    by_number = {e.number: e for e in RFC_HISTORY}
    assert (by_number[821].year, by_number[821].month, by_number[821].authors) == (1982, 8, "J. Postel")
    assert (by_number[5321].year, by_number[5321].month, by_number[5321].authors) == (2008, 10, "J. Klensin")
    assert by_number[1869].year == 1995 and "Extensions" in by_number[1869].title
    assert [e.number for e in RFC_HISTORY if e.lane == "transfer"] == [821, 974, 1123, 1869, 2821, 5321]
    assert [e.number for e in RFC_HISTORY if e.lane == "format"] == [822, 2045, 2822, 5322]
    assert list(RFC_HISTORY) == sorted(RFC_HISTORY, key=lambda e: (e.year, e.month, e.number))
    drawn = texts(rfc_timeline())
    for entry in RFC_HISTORY:
        assert f"RFC {entry.number}\n{entry.short}\n" in drawn
