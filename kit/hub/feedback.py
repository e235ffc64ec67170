"""Feedback pages of a grading run -> each student's home.

``smtpkit grade`` writes ``OUT/results.json`` (each student with the path of their page,
``feedback/<name>.html``). ``return_all`` puts each page of a student the hub made into
``~/smtp-course/feedback/<OUT's name>.html`` (`homes.return_feedback`: no link followed, an
existing page kept and the new one numbered). Pages are read from the grader's folder with
the same care as everything a grading run touched (`kit.grading.safe_files`).
"""

from __future__ import annotations

import json
import pwd
from dataclasses import dataclass
from pathlib import Path

from ..grading.safe_files import read_head
from .errors import HubError
from .homes import return_feedback
from .state import HubState

__all__ = ["Returned", "return_all", "MAX_PAGE"]

MAX_PAGE = 10 * 1024 * 1024


@dataclass(frozen=True)
class Returned:
    """One student's page: where it went in their home, or why it did not."""

    student: str
    placed: str | None
    reason: str = ""


def return_all(state: HubState, graded: Path) -> list[Returned]:
    """Return the feedback of the grading run in ``graded`` to the hub's students."""
    try:
        results = json.loads((graded / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HubError(f"{graded}/results.json cannot be read ({exc}): give the --out folder of "
                       "`smtpkit grade`") from None
    pages = {s["student"]: s.get("feedback") for s in results.get("students", [])}
    out = []
    for student, account in sorted(state.accounts().items()):
        page_path = pages.get(student)
        if not page_path:
            out.append(Returned(student, None, "not in this grading run"))
            continue
        page = read_head(graded / page_path, MAX_PAGE + 1)
        if not page or len(page) > MAX_PAGE:
            out.append(Returned(student, None, f"{page_path} missing, not a file, or too large"))
            continue
        try:
            entry = pwd.getpwnam(student)
            placed = return_feedback(page, f"{graded.resolve().name}.html", Path(account["home"]),
                                     (entry.pw_uid, entry.pw_gid))
        except (OSError, KeyError) as exc:
            out.append(Returned(student, None, f"cannot write into the home: {exc}"))
            continue
        out.append(Returned(student, placed))
    return out
