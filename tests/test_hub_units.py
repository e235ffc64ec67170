"""`kit.hub` piece by piece: the class list, the passwords, writing into homes without following
links, collecting only what a student really handed in, and lab servers that refuse other users.

The pieces that need root (a second user, ``chown``) are skipped, saying so, without it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from kit.hub.collect import MAX_BYTES, collect
from kit.hub.homes import COURSE_FOLDER, release_into_home, return_feedback
from kit.hub.passwords import hash_password, new_password, verify_password
from kit.hub.roster import RosterError, account_name, parse_roster
from kit.hub.state import HubState

ROOT = Path(__file__).resolve().parents[1]
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (a second user, chown)")


# --------------------------------------------------------------------------- class list
def test_one_per_line_logins_and_addresses():
    students = parse_roster("# seminar\nalice\n\nBob.Smith@uni.example\n  carol  \n")
    assert [s.account for s in students] == ["alice", "bob-smith", "carol"]


def test_lms_csv_uses_the_username_column_and_names():
    text = ("First name,Last name,Username,Email address\n"
            "Ann,Example,ann01,ann@uni.example\nJörg,Müller,,joerg.mueller@uni.example\n")
    students = parse_roster(text, prefix="smtp-")
    assert [(s.account, s.display) for s in students] == [
        ("smtp-ann01", "Ann Example"), ("smtp-joerg-mueller", "Jörg Müller")]


def test_semicolon_csv_and_duplicates_get_numbers():
    students = parse_roster("Name;E-Mail\nA;alice@x.example\nB;Alice@y.example\n")
    assert [s.account for s in students] == ["alice", "alice2"]


def test_account_names_are_safe_for_useradd():
    assert account_name("../../etc/passwd") == "etc-passwd"
    assert account_name("Zoë O'Neil") == "zoe-o-neil"
    assert account_name("1234") == ""
    assert len(account_name("x" * 80, prefix="p-")) == 32


def test_a_row_without_a_name_is_an_error_naming_the_line():
    with pytest.raises(RosterError, match="line 3"):
        parse_roster("Username,Email\nann,\n,\n")  # the blank row is skipped; ',' is line 3
    with pytest.raises(RosterError, match="empty"):
        parse_roster("\n\n")


# --------------------------------------------------------------------------- passwords
def test_passwords_verify_only_themselves():
    password = new_password()
    assert len(password.replace("-", "")) == 12 and not set(password) & set("0o1il")
    stored = hash_password(password)
    assert password not in stored and stored.startswith("scrypt$")
    assert verify_password(password, stored)
    assert not verify_password(password + "x", stored)
    assert not verify_password(password, "plain$" + password)
    assert hash_password(password) != stored  # salted


# --------------------------------------------------------------------------- homes
def _notebooks(tmp_path: Path) -> Path:
    folder = tmp_path / "release"
    folder.mkdir()
    (folder / "00_start_here.ipynb").write_text('{"released": 1}')
    (folder / "02_the_smtp_dialogue.ipynb").write_text('{"released": 2}')
    return folder


def test_release_never_overwrites_and_follows_no_link(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    released = _notebooks(tmp_path)
    assert release_into_home(released, home, None) == ["00_start_here.ipynb", "02_the_smtp_dialogue.ipynb"]
    course = home / COURSE_FOLDER
    (course / "00_start_here.ipynb").write_text("my work")
    (course / "02_the_smtp_dialogue.ipynb").unlink()
    outside = tmp_path / "outside.txt"
    outside.write_text("not yours")
    (course / "02_the_smtp_dialogue.ipynb").symlink_to(outside)
    assert release_into_home(released, home, None) == []
    assert (course / "00_start_here.ipynb").read_text() == "my work"
    assert outside.read_text() == "not yours"


def test_a_linked_course_folder_is_refused(tmp_path):
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    (home / COURSE_FOLDER).symlink_to(elsewhere)
    with pytest.raises(OSError):
        release_into_home(_notebooks(tmp_path), home, None)
    assert list(elsewhere.iterdir()) == []


def test_feedback_is_numbered_not_overwritten(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    assert return_feedback(b"first", "graded.html", home, None) == "graded.html"
    assert return_feedback(b"second", "graded.html", home, None) == "graded-2.html"
    folder = home / COURSE_FOLDER / "feedback"
    assert (folder / "graded.html").read_bytes() == b"first"
    assert oct((folder / "graded-2.html").stat().st_mode & 0o777) == "0o600"


# --------------------------------------------------------------------------- collect
def _state_with(tmp_path: Path, homes: dict[str, Path], uid: int) -> HubState:
    state = HubState(tmp_path / "state").create()
    state.save_accounts({name: {"uid": uid, "gid": 0, "home": str(home), "display": name}
                         for name, home in homes.items()})
    return state


def test_collect_copies_only_regular_own_files(tmp_path):
    homes = {}
    for name in ("ann", "bob", "cem", "dan", "eve"):
        homes[name] = tmp_path / name
        (homes[name] / COURSE_FOLDER).mkdir(parents=True)
    secret = tmp_path / "secret.ipynb"
    secret.write_text("the instructor's")
    (homes["ann"] / COURSE_FOLDER / "00_start_here.ipynb").write_text('{"ann": 1}')
    (homes["bob"] / COURSE_FOLDER / "00_start_here.ipynb").symlink_to(secret)
    os.link(secret, homes["cem"] / COURSE_FOLDER / "00_start_here.ipynb")
    with open(homes["dan"] / COURSE_FOLDER / "00_start_here.ipynb", "wb") as f:
        f.truncate(MAX_BYTES + 1)
    os.mkfifo(homes["eve"] / COURSE_FOLDER / "00_start_here.ipynb")
    state = _state_with(tmp_path, homes, os.getuid())
    report = {r.student: r for r in collect(state, ["00_start_here.ipynb"], tmp_path / "into")}
    assert report["ann"].copied
    assert (tmp_path / "into" / "ann" / "00_start_here.ipynb").read_text() == '{"ann": 1}'
    assert "symbolic link" in report["bob"].reason
    assert "hard link" in report["cem"].reason
    assert "larger than" in report["dan"].reason
    assert "regular file" in report["eve"].reason
    assert sorted(p.name for p in (tmp_path / "into").iterdir()) == ["ann"]


def test_collect_refuses_another_owners_file_and_a_linked_folder(tmp_path):
    homes = {"ann": tmp_path / "ann", "bob": tmp_path / "bob"}
    (homes["ann"] / COURSE_FOLDER).mkdir(parents=True)
    (homes["ann"] / COURSE_FOLDER / "00_start_here.ipynb").write_text("{}")
    homes["bob"].mkdir()
    (homes["bob"] / COURSE_FOLDER).symlink_to(homes["ann"] / COURSE_FOLDER)
    state = _state_with(tmp_path, homes, os.getuid() + 1)  # the files are not "theirs"
    report = {r.student: r for r in collect(state, ["00_start_here.ipynb"], tmp_path / "i")}
    assert "not the student's own file" in report["ann"].reason
    assert "not a folder" in report["bob"].reason or "symbolic" in report["bob"].reason
    missing = [r for r in collect(state, ["02_x.ipynb"], tmp_path / "i") if r.student == "ann"]
    assert missing[0].reason == "missing"


def test_feedback_return_reads_results_json(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root (chown to the student)")
    from kit.hub.feedback import return_all

    home = tmp_path / "root-home"
    home.mkdir()
    state = _state_with(tmp_path, {"root": home}, 0)
    graded = tmp_path / "graded-week1"
    (graded / "feedback").mkdir(parents=True)
    (graded / "feedback" / "root.html").write_text("<p>well done</p>")
    (graded / "results.json").write_text(json.dumps({"students": [
        {"student": "root", "feedback": "feedback/root.html"}]}))
    [returned] = return_all(state, graded)
    assert returned.placed == "graded-week1.html"
    assert (home / COURSE_FOLDER / "feedback" / "graded-week1.html").read_text() == "<p>well done</p>"


# --------------------------------------------------------------------------- lab servers
_CLIENT = ("import socket,sys\n"
           "c=socket.create_connection(('127.0.0.1',int(sys.argv[1])),5)\n"
           "print(repr(c.recv(200)))\n")


@as_root
@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="Linux only (/proc/net/tcp)")
def test_lab_server_refuses_other_users_when_owner_only(monkeypatch):
    """Two accounts share loopback: with SMTPKIT_LAB_OWNER_ONLY another user's connection is
    closed before the greeting, the owner's (and root's) are served; without it, anyone is."""
    from kit.server import LabServer
    from kit.server.owner import ENV

    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

    def as_nobody(port: int) -> str:
        done = subprocess.run([python, "-c", _CLIENT, str(port)], user="nobody", capture_output=True,
                              text=True, timeout=30)
        return done.stdout.strip() or done.stderr.strip()

    monkeypatch.setenv(ENV, "1")
    with LabServer() as server:
        assert as_nobody(server.port) == "b''"
        with socket.create_connection((server.host, server.port), 5) as own:
            assert own.recv(200).startswith(b"220 ")
        assert not [t for t in server.transcripts if "nobody" in repr(t)]
    monkeypatch.delenv(ENV)
    with LabServer() as server:
        assert as_nobody(server.port).startswith("b'220 ")


# --------------------------------------------------------------------------- the container's start hook
def test_container_start_hook_copies_the_course_without_overwriting(tmp_path):
    """deploy/hub/start-course.sh (the Docker image's before-notebook hook): the chosen language's
    notebooks into ~/smtp-course, a student's file and a planted link kept as they are."""
    course = tmp_path / "opt"
    (course / "notebooks" / "de").mkdir(parents=True)
    (course / "notebooks" / "00_start_here.ipynb").write_text("en")
    (course / "notebooks" / "01_x.ipynb").write_text("en")
    (course / "notebooks" / "de" / "00_start_here.ipynb").write_text("de")
    home = tmp_path / "home"
    (home / "smtp-course").mkdir(parents=True)
    (home / "smtp-course" / "01_x.ipynb").write_text("my work")
    hook = ROOT / "deploy" / "hub" / "start-course.sh"

    def run(lang: str) -> None:
        subprocess.run(["bash", str(hook)], check=True, timeout=30,
                       env={"HOME": str(home), "SMTPKIT_COURSE": str(course), "SMTPKIT_LANG": lang,
                            "PATH": os.environ["PATH"]})

    run("en")
    assert (home / "smtp-course" / "00_start_here.ipynb").read_text() == "en"
    assert (home / "smtp-course" / "01_x.ipynb").read_text() == "my work"
    (home / "smtp-course" / "00_start_here.ipynb").unlink()
    run("de")
    assert (home / "smtp-course" / "00_start_here.ipynb").read_text() == "de"
    linked = tmp_path / "home2"
    linked.mkdir()
    (linked / "smtp-course").symlink_to(tmp_path / "elsewhere")
    subprocess.run(["bash", str(hook)], check=True, timeout=30,
                   env={"HOME": str(linked), "SMTPKIT_COURSE": str(course), "PATH": os.environ["PATH"]})
    assert not (tmp_path / "elsewhere").exists()


# --------------------------------------------------------------------------- address and accounts
def _listen(listen: str, cert: Path | None = None, key: Path | None = None) -> list[str]:
    import argparse

    from kit.hub.command import _check_listen

    return _check_listen(argparse.Namespace(listen=listen, cert=cert, key=key))


def test_listen_loopback_quietly_elsewhere_with_a_warning(tmp_path):
    from kit.hub.errors import HubError

    assert _listen("127.0.0.1") == []
    [warning] = _listen("192.0.2.10")
    assert "WITHOUT HTTPS" in warning
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x")
    key.write_text("x")
    [warning] = _listen("192.0.2.10", cert, key)
    assert "WITHOUT" not in warning and "other machines" in warning
    for bad, message in (("0.0.0.0", "every network"), ("::", "every network"), ("hub.local", "not an IP"),
                         ("127.0.0.1", "go together")):
        with pytest.raises(HubError, match=message):
            _listen(bad, cert if message == "go together" else None)


@as_root
def test_an_account_the_hub_did_not_make_is_never_touched(tmp_path):
    from kit.hub.accounts import create_accounts, remove_accounts
    from kit.hub.errors import HubError
    from kit.hub.roster import Student

    name = f"hu{os.getpid() % 100000}-x"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True, timeout=60)
    try:
        state = HubState(tmp_path / "state").create()
        with pytest.raises(HubError, match=name):
            create_accounts([Student(name, "X")], state, tmp_path / "homes")
        assert state.accounts() == {}
        assert remove_accounts(state) == []
        import pwd

        assert pwd.getpwnam(name)  # still there
    finally:
        subprocess.run(["userdel", name], check=False, timeout=60)


# --------------------------------------------------------------------------- limits
@as_root
def test_a_students_cgroup_limits_memory_and_cpu():
    """Real cgroups: a process placed in a student's cgroup that allocates past the memory limit
    is killed; a busy loop gets about the CPU quota; the cgroups go away afterwards."""
    from kit.hub.limits import Limits, StudentCgroup, cgroups_available

    parents = cgroups_available()
    if "memory" not in parents and "unified" not in parents:
        pytest.skip("no writable memory cgroup here")
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    script = ("import sys, time, os\n"
              "sys.stdin.readline()\n"  # wait until placed
              "t = time.time()\n"
              "while time.time() - t < 1.5: pass\n"
              "print(sum(os.times()[:2]), flush=True)\n"
              "block = b'x' * (300 * 1024 * 1024)\n"
              "print('survived', flush=True)\n")
    cgroup = StudentCgroup(f"unit{os.getpid()}", Limits(memory_mb=128, processes=64, cpus=0.25), parents)
    child = subprocess.Popen([python, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        applied = cgroup.place(child.pid)
        assert "memory 128 MB" in applied and "processes 64" in applied
        assert all(f"smtpkit-hub-unit{os.getpid()}" in line or line.split(":")[1] not in ("memory", "pids")
                   for line in Path(f"/proc/{child.pid}/cgroup").read_text().splitlines())
        out, _ = child.communicate("go\n", timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        cgroup.remove()
    lines = out.split()
    if "cpu 0.25" in applied:
        assert float(lines[0]) < 0.8, f"{lines[0]} CPU seconds in 1.5 s with a quota of 0.25"
    swap = int(next(ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines()
                    if ln.startswith("SwapTotal:")))
    if swap == 0:
        assert "survived" not in out and child.returncode == -9
    assert not any(os.path.exists(f) for f in cgroup.folders)


def test_the_hub_refuses_while_students_could_read_the_solutions():
    from kit.hub.command import _refuse_readable_secrets, readable_secrets
    from kit.hub.errors import HubError

    # not below pytest's tmp_path: its folder is closed to others, which would hide the case
    base = Path(tempfile.mkdtemp(prefix="smtpkit-secrets-", dir="/tmp"))
    try:
        _check_refusal(base, _refuse_readable_secrets, readable_secrets, HubError)
    finally:
        shutil.rmtree(base)


def _check_refusal(base, _refuse_readable_secrets, readable_secrets, HubError):
    root = base / "course"
    (root / "solutions").mkdir(parents=True)
    (root / "kit" / "exercises" / "answers").mkdir(parents=True)
    for path in (base, root, root / "kit", root / "kit" / "exercises"):
        os.chmod(path, 0o755)
    os.chmod(root / "solutions", 0o755)
    os.chmod(root / "kit" / "exercises" / "answers", 0o755)
    assert readable_secrets(root) == [root / "solutions", root / "kit" / "exercises" / "answers"]
    with pytest.raises(HubError, match="chmod -R o-rwx"):
        _refuse_readable_secrets(root, allow=False)
    assert "readable by every account" in _refuse_readable_secrets(root, allow=True)
    os.chmod(root / "solutions", 0o750)           # closed itself
    os.chmod(root / "kit" / "exercises", 0o750)   # or a folder on the way
    assert readable_secrets(root) == []
    assert _refuse_readable_secrets(root, allow=False) is None
