"""``smtpkit release``: regenerate the student notebooks and the public tests' expected values,
check them, build a student release.

Run in the project folder: besides the notebooks, ``release`` writes ``kit/exercises/
expected.json`` from the grader-only answers (when the folder's kit has them), and ``--check``
also fails when that file is out of date or when the kit hands out an exercise's answer under
the exercise's name (`leaks.audit`).

The student notebooks are also where students work, so no release overwrites a notebook that was
changed since the release wrote it (`workspace`): it names them and stops (exit 2), unless
``--force``, which first copies each into ``.backup/<UTC time>/`` beside the notebooks and says
where. ``--student DIR`` renders the notebooks straight from the solutions into ``DIR`` and
leaves the project's ``notebooks/`` alone.

Languages: English is written from ``solutions/``; each language with catalogs in
``solutions/locale/<lang>/`` (German: ``de``) is written too, its student notebooks into
``notebooks/<lang>/`` and its instructor notebooks into ``solutions/<lang>/`` (`plan`). A cell
whose translation is missing, untranslated, fuzzy or stale is released in English, and ``--check``
fails naming it (notebook and cell id). ``--lang LANG`` (repeatable) limits a run to those
languages. ``--update-catalogs`` brings the catalogs up to date with the English cells (new cells
added, changed ones marked fuzzy with the previous text kept, as msgmerge does) and writes nothing
else. The translated instructor notebooks are executed by ``make solutions-de``; ``--check``
compares their sources, not their outputs.

Exit codes: 0 done (or in sync), 1 ``--check`` found something out of date or a leaked answer,
2 an error (missing folder, malformed markers, notebooks that hold someone's work), with the
message on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..notebook_file import DEFAULT_LANG, LANGUAGES
from .errors import AuthoringError
from .leaks import audit, describe_leak, expected_problems, write_expected
from .plan import ReleasePlan, instructor_folder, student_folder
from .release import Released, folder_drift, refuse_edited, write_release
from .student import build_student_release

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the release options to ``parser``."""
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="only report student notebooks out of date with the solutions (exit 1)")
    mode.add_argument("--update-catalogs", action="store_true",
                      help="only update the translation catalogs (solutions/locale/LANG/*.po) from the English "
                           "cells: add new cells, mark changed ones fuzzy")
    mode.add_argument("--student", metavar="DIR",
                      help="build the student release in DIR (kit, notebooks from the solutions, its own README, "
                           "pyproject and Makefile); the project's notebooks/ is left alone")
    parser.add_argument("--force", action="store_true",
                        help="also replace notebooks changed since the last release (someone's work), "
                             "after copying them into .backup/<time>/ beside them")
    parser.add_argument("--solutions", metavar="DIR", default="solutions",
                        help="instructor notebooks (default: solutions)")
    parser.add_argument("--notebooks", metavar="DIR", default="notebooks",
                        help="student notebooks to write (default: notebooks; a translation goes into DIR/LANG)")
    parser.add_argument("--lang", action="append", choices=LANGUAGES, metavar="LANG",
                        help=f"only this language ({', '.join(LANGUAGES)}; repeatable). Default: English and every "
                             "language with catalogs")


def _say_replaced(done: Released) -> None:
    if done.backup is not None:
        print(f"replaced {len(done.replaced)} changed notebook(s) ({', '.join(done.replaced)}); "
              f"the changed versions are kept in {done.backup}")


def _languages(plan: ReleasePlan, asked: list[str] | None) -> list[str]:
    return list(dict.fromkeys(asked)) if asked else plan.languages()


def _check(plan: ReleasePlan, langs: list[str], notebooks: Path, root: Path) -> int:
    """Print every problem of the chosen languages; the exit code (1 when there is one)."""
    failed = False
    if DEFAULT_LANG in langs:
        problems = folder_drift(notebooks, plan.edition().student) + expected_problems(root)
        for name, why in problems:
            print(f"{why}: {name}")
        if problems:
            print("student notebooks or expected values are out of date; run `smtpkit release`", file=sys.stderr)
        leaks = audit(root)
        for leak in leaks:
            print(f"leaked answer: {describe_leak(leak)}")
        if leaks:
            print("the kit gives exercises' answers away under their names; rename or remove them", file=sys.stderr)
        failed = bool(problems or leaks)
    english_failed = failed
    for lang in langs:
        if lang == DEFAULT_LANG:
            continue
        edition = plan.edition(lang)
        folder = student_folder(notebooks, lang)
        drifted = [(str(folder / name), why) for name, why in folder_drift(folder, edition.student)]
        drifted += plan.instructor_drift(lang)
        for path, why in drifted:
            print(f"{lang}: {why}: {path}")
        for problem in edition.problems:
            print(f"{lang}: {problem}")
        if drifted:
            print(f"{lang}: notebooks out of date; run `smtpkit release --lang {lang}` (then `make solutions-{lang}` "
                  "to execute the instructor notebooks it wrote)", file=sys.stderr)
        if edition.problems:
            kinds: dict[str, int] = {}
            for problem in edition.problems:
                kinds[problem.kind] = kinds.get(problem.kind, 0) + 1
            counts = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
            print(f"{lang}: the translation is not complete ({counts}); the cells named above are released in "
                  f"English until their entries in solutions/locale/{lang}/*.po are translated and current "
                  "(expected while the translation is under way)", file=sys.stderr)
        failed = failed or bool(drifted or edition.problems)
        if not drifted and not edition.problems:
            print(f"{lang}: in sync, every cell translated", file=sys.stderr)
    if DEFAULT_LANG in langs and len(langs) > 1 and not english_failed:
        print(f"{DEFAULT_LANG}: in sync", file=sys.stderr)
    return 1 if failed else 0


def _release(plan: ReleasePlan, langs: list[str], notebooks: Path, force: bool) -> None:
    if not force:  # someone's work in any language's folder: refuse before writing any
        refuse_edited({student_folder(notebooks, lang): plan.edition(lang).student for lang in langs})
    for lang in langs:
        edition = plan.edition(lang)
        folder = student_folder(notebooks, lang)
        done = write_release(folder, edition.student, force=force)
        _say_replaced(done)
        where = f"{plan.solutions}" if lang == DEFAULT_LANG else f"{plan.solutions} and solutions/locale/{lang}"
        print(f"released {len(done.paths)} notebook(s) from {where} into {folder} "
              f"({len(done.written)} written, {len(done.paths) - len(done.written)} already up to date)")
        if lang == DEFAULT_LANG:
            continue
        written = plan.write_instructor(lang)
        if written:
            print(f"{lang}: wrote {len(written)} instructor notebook(s) into {instructor_folder(plan.solutions, lang)} "
                  f"without outputs: run `make solutions-{lang}` to execute them ({', '.join(written)})")
        english = [p for p in edition.problems if p.kind != "obsolete"]
        if english:
            print(f"{lang}: {len(english)} cell(s) are still in English (untranslated, fuzzy, stale or missing); "
                  f"`smtpkit release --check --lang {lang}` names them")


def run(args: argparse.Namespace) -> int:
    """Run the release the options ask for; return the exit code."""
    solutions, notebooks, root = Path(args.solutions), Path(args.notebooks), Path.cwd()
    if args.check and args.force:
        print("smtpkit release: error: --check writes nothing, so --force has no meaning with it", file=sys.stderr)
        return 2
    try:
        if solutions.is_dir() and notebooks.exists() and solutions.resolve() == notebooks.resolve():
            raise AuthoringError(f"solutions and notebooks are the same folder: {solutions}")
        plan = ReleasePlan(solutions)  # every solution read once, before anything is written
        langs = _languages(plan, getattr(args, "lang", None))
        if args.check:
            return _check(plan, langs, notebooks, root)
        if getattr(args, "update_catalogs", False):
            others = [lang for lang in langs if lang != DEFAULT_LANG]
            if not others:
                raise AuthoringError("no language to update: English is the source; name one with --lang "
                                     f"(one of {', '.join(LANGUAGES[1:])})")
            for lang in others:
                written = plan.update_catalogs(lang)
                for path in written:
                    print(f"updated {path}")
                print(f"{lang}: {len(written)} catalog(s) updated")
            return 0
        expected = write_expected(root)
        if expected is not None:
            print(f"expected values of the public tests in {expected.relative_to(root.resolve())}")
        if args.student:
            dest, done = build_student_release(root, Path(args.student), solutions_dir=solutions, force=args.force,
                                               plan=plan, langs=langs)
            _say_replaced(done)
            print(f"student release written to {dest} ({len(done.paths)} notebook(s); {notebooks}/ not touched)")
            for lang in langs:
                if lang != DEFAULT_LANG and plan.edition(lang).problems:
                    print(f"{lang}: not in the student release: the translation is not complete "
                          f"(`smtpkit release --check --lang {lang}` names the cells)")
            if done.backup is not None:
                print(f"note: {done.backup} is inside the release; move it out before you hand the folder out")
            return 0
        _release(plan, langs, notebooks, args.force)
        return 0
    except AuthoringError as exc:
        print(f"smtpkit release: error: {exc}", file=sys.stderr)
        return 2
