"""Hostile notebooks through ``kit.grading.grade`` with its default options (the sandbox).

Each attack of the grading-sandbox issue is a probe exercise here: the attacker's function
tries it and returns what it got away with (an empty list when the defence held, so a breach
costs the probe's point and shows what leaked). The probes are harmless if they succeed: they
write a file's own value back, or write into a canary folder of this test. Beside the attacker
an honest student must keep full marks. One grading run serves every test (module fixture).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from notebook_files import notebook

from kit.exercises import Case, Exercise, Registry, get
from kit.grading.api import grade
from kit.grading.isolation import probe
from kit.grading.settings import Limits

pytestmark = [pytest.mark.timeout(300),
              pytest.mark.skipif(probe() is not None and not os.environ.get("CI"),
                                 reason=f"no sandbox here: {probe()}")]

CLASS = Path(__file__).parent / "data" / "class"
PROJECT = Path(__file__).resolve().parents[1]
SECRET_ENV = "SMTPKIT_TEST_TOKEN"
SECRET_VALUE = "tok-3f1c9e-not-for-students"
#: The hidden "big numbers" test of tests/data/class/hidden.py: its inputs and answer.
HIDDEN_SECRETS = ["1000000000000000000", "1000000000000000001"]

HOST = r'''
import os


def host(canary):
    """Escape, writable host, the grader's cgroup, the canary folder outside the sandbox."""
    got = []
    if os.getuid() == 0 or os.geteuid() == 0:
        got.append("runs as uid 0")
    for path in ("/proc/sys/kernel/core_pattern", "/proc/sys/kernel/modprobe"):
        try:
            with open(path) as f:
                value = f.read()
            with open(path, "w") as f:
                f.write(value)  # its own value back: harmless, but only root may
            got.append("wrote " + path)
        except OSError:
            pass
    if os.path.exists("/sys"):
        got.append("/sys is visible")
    for root, dirs, files in os.walk("/sys/fs/cgroup"):
        for name in files:
            if name in ("memory.limit_in_bytes", "memory.max", "pids.max"):
                path = os.path.join(root, name)
                try:
                    with open(path) as f:
                        value = f.read()
                    with open(path, "w") as f:
                        f.write(value)
                    got.append("wrote " + path)
                except OSError:
                    pass
        if root.count("/") > 6:
            break
    for name in sorted(os.listdir("/dev")):
        if name not in {"null", "zero", "full", "random", "urandom", "tty", "pts", "ptmx",
                        "shm", "fd", "stdin", "stdout", "stderr", "core", "mqueue"}:
            got.append("/dev/" + name)
    for folder in ("/", "/usr", "/etc", "/root", "/home", "/var", "/work", canary):
        try:
            path = os.path.join(folder, "smtpkit-hostile-probe")
            with open(path, "w") as f:
                f.write("x")
            os.unlink(path)
            got.append("wrote into " + folder)
        except OSError:
            pass
    return got
'''

SECRETS = r'''
import glob
import os


def secrets(paths):
    """Files of the instructor's, the grader's environment, the grader's own folders."""
    got = []
    for path in paths:
        for found in glob.glob(path):
            try:
                if os.path.isdir(found):
                    if os.listdir(found):
                        got.append("listed " + found)
                else:
                    with open(found, "rb") as f:
                        if f.read(64):
                            got.append("read " + found)
            except OSError:
                pass
    if os.environ.get("SMTPKIT_TEST_TOKEN"):
        got.append("the grader's environment: " + os.environ["SMTPKIT_TEST_TOKEN"])
    extra = sorted(set(os.environ) - {"PATH", "HOME", "LANG", "TMPDIR", "MPLBACKEND",
                                      "SMTPKIT_GRADING", "PYDEVD_DISABLE_FILE_VALIDATION",
                                      "SMTPKIT_LANG", "PWD", "SHLVL", "_", "JPY_PARENT_PID",
                                      "PYTHONUNBUFFERED", "CLICOLOR", "PAGER", "GIT_PAGER",
                                      "TERM", "FORCE_COLOR", "CLICOLOR_FORCE", "COLUMNS", "LINES",
                                      "PYDEVD_USE_FRAME_EVAL"})
    if extra:
        got.append("environment variables: %s" % extra)
    for pattern in ("/tmp/smtpkit-grade-*", "/tmp/*/smtpkit-grade-*"):
        for room in glob.glob(pattern):
            got.append("sees the grader's folder " + room)
            try:  # the old attack: the grader's log as a link into site-packages
                os.symlink("/tmp/pwned.pth", os.path.join(room, "kernel-2.log"))
                got.append("planted a link in " + room)
            except OSError:
                pass
    try:
        from kit.exercises.answers.replies import parse_reply  # noqa: F401
        got.append("imported the reference answers")
    except Exception:
        pass
    return got
'''

CARRY = r'''
SEEN = []


def add(a, b):
    SEEN.append([a, b])
    return a + b


def leak(x):
    """Returns every input add() was given: a hidden input would show here if hidden tests
    ran before this public one."""
    return repr(SEEN) if any(max(pair) > 10**9 for pair in SEEN) else ""
'''

RESOURCES = r'''
import os
import time


def fill(megabytes):
    """Fill /tmp and /dev/shm (private tmpfs of a limited size)."""
    written = {}
    chunk = b"x" * (16 * 1024 * 1024)
    for folder in ("/tmp", "/dev/shm"):
        total = 0
        try:
            with open(os.path.join(folder, "fill"), "wb") as f:
                while total < megabytes:
                    f.write(chunk)
                    f.flush()
                    total += 16
        except OSError:
            pass
        try:
            os.unlink(os.path.join(folder, "fill"))
        except OSError:
            pass
        written[folder] = total
    return "bounded" if all(v < megabytes for v in written.values()) else "unbounded: %s" % written


def deep(levels):
    """A folder tree too deep for a naive clean-up; stays behind in the kernel's tmpfs."""
    here = os.getcwd()
    for _ in range(levels):
        os.mkdir("d")
        os.chdir("d")
    os.chdir(here)
    with open("x.txt", "w") as f:  # a relative path in the work folder is writable
        f.write("ok")
    with open("x.txt") as f:
        return f.read()


def forks(limit):
    """Processes are limited (a bounded fork loop; every child ends by itself)."""
    children = []
    failed = False
    for _ in range(limit):
        try:
            pid = os.fork()
        except OSError:
            failed = True
            break
        if pid == 0:
            time.sleep(2)
            os._exit(0)
        children.append(pid)
    for pid in children:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except OSError:
            pass
    return "bounded" if failed else "forked %d processes" % len(children)
'''

HONEST = "def add(a, b):\n    return a + b"


def _probes(canary: str, secret_paths: list[str]) -> Registry:
    registry = Registry()
    registry.register(get("demo.add"))
    for exercise in (
        Exercise("attack.host", "Escape and write the host", (Case("nothing", (canary,), []),),
                 function="host", time_limit=20),
        Exercise("attack.secrets", "Read secrets", (Case("nothing", (secret_paths,), []),),
                 function="secrets", time_limit=20),
        Exercise("attack.leak", "Carry hidden inputs over", (Case("nothing", ("x",), ""),),
                 function="leak"),
        Exercise("attack.fill", "Fill the disk", (Case("bounded", (600,), "bounded"),),
                 function="fill", time_limit=30),
        Exercise("attack.deep", "A deep tree", (Case("cleaned", (1500,), "ok"),),
                 function="deep", time_limit=30),
        Exercise("attack.forks", "Fork", (Case("bounded", (2000,), "bounded"),),
                 function="forks", time_limit=30),
    ):
        registry.register(exercise)
    return registry


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    canary = root / "canary"
    canary.mkdir()
    instructor = root / "instructor"
    hidden = instructor / "hidden.py"
    instructor.mkdir()
    hidden.write_text("from kit.exercises import Case\n\nHIDDEN = {'demo.add': "
                      "[Case('big numbers', (10**18, 1), 10**18 + 1, points=2)]}\n")
    (instructor / "notes.txt").write_text("the answers are 42\n")
    released = root / "released"
    ids = ["demo.add", "attack.host", "attack.secrets", "attack.leak", "attack.fill",
           "attack.deep", "attack.forks"]
    notebook(released / "01_probe.ipynb", [(i, "def f():\n    raise NotImplementedError") for i in ids])
    subs = root / "submissions"
    notebook(subs / "honest.ipynb", [("demo.add", HONEST)])
    out = root / "out"
    secret_paths = [str(instructor / "*"), str(instructor / "__pycache__" / "*"),
                    str(PROJECT / "solutions" / "*"), str(PROJECT / "tests" / "*"),
                    str(subs / "honest.ipynb"), str(out), "/etc/shadow", "/root/.ssh/*"]
    notebook(subs / "attacker.ipynb", [
        ("demo.add", CARRY), ("attack.host", HOST), ("attack.secrets", SECRETS),
        ("attack.leak", "leak = leak"), ("attack.fill", RESOURCES), ("attack.deep", "deep = deep"),
        ("attack.forks", "forks = forks")])
    registry = _probes(str(canary), secret_paths)
    # the grader's own folders, as it makes them (other test files may grade at the same time)
    made: list[Path] = []
    mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(*args, **kwargs):
        folder = mkdtemp(*args, **kwargs)
        if Path(folder).name.startswith("smtpkit-grade-"):
            made.append(Path(folder))
        return folder

    os.environ[SECRET_ENV] = SECRET_VALUE
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(tempfile, "mkdtemp", recording_mkdtemp)
            report = grade(subs, out, notebooks=released, hidden=hidden, workers=2, registry=registry,
                           limits=Limits(cell_timeout=30, notebook_timeout=120))
    finally:
        os.environ.pop(SECRET_ENV, None)
    assert made, "the grader made no folder of its own: the check below would see nothing"
    return {"report": report, "out": out, "canary": canary, "instructor": instructor,
            "leftovers": {folder for folder in made if os.path.lexists(folder)},
            "students": {s.student: s for s in report.students}}


def _verdict(hostile, exercise_id: str):
    result = hostile["students"]["attacker"].results[exercise_id]
    return result, result.tests[0].message


def test_no_escape_and_no_writable_host(hostile):
    result, message = _verdict(hostile, "attack.host")
    assert result.passed, (message, result.tests[0].got)
    assert list(hostile["canary"].iterdir()) == []


def test_no_secret_in_reach(hostile):
    result, message = _verdict(hostile, "attack.secrets")
    assert result.passed, (message, result.tests[0].got)
    # the hidden tests were loaded without leaving their bytecode beside them
    assert not (hostile["instructor"] / "__pycache__").exists()
    assert not Path("/tmp/pwned.pth").exists()


def test_hidden_inputs_never_reach_feedback(hostile):
    result, message = _verdict(hostile, "attack.leak")
    assert result.passed, (message, result.tests[0].got)
    out = hostile["out"]
    for path in [*(out / "feedback").glob("*.html"), *(out / "gradescope").glob("*.json"),
                 out / "lms.csv", out / "gradebook.csv"]:
        text = path.read_text()
        for secret in HIDDEN_SECRETS:
            assert secret not in text, (path.name, secret)


def test_disk_processes_and_clean_up_are_bounded(hostile):
    for exercise_id in ("attack.fill", "attack.deep", "attack.forks"):
        result, message = _verdict(hostile, exercise_id)
        assert result.passed, (exercise_id, message)
    assert hostile["leftovers"] == set()  # nothing of the grader's left in /tmp


def test_honest_students_keep_full_marks(hostile):
    honest = hostile["students"]["honest"]
    assert honest.results["demo.add"].passed
    assert honest.results["demo.add"].points == honest.results["demo.add"].max_points


def test_results_say_what_isolation_each_kernel_had(hostile):
    data = json.loads((hostile["out"] / "results.json").read_text())
    isolation = data["settings"]["isolation"]
    assert isolation["mode"] == "sandbox" and isolation["launcher"] == "bubblewrap"
    assert isolation["kernel_user"] != "root"
    assert "network (loopback only)" in isolation["namespaces"]


# -- fail closed ------------------------------------------------------------------------------
def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kit", "grade", *args], capture_output=True,
                          text=True, timeout=240, env=env)


def test_without_the_sandbox_grading_refuses_and_names_the_missing_piece(tmp_path):
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # no bwrap on the PATH
    run = _cli(str(CLASS / "submissions"), "--out", str(tmp_path / "out"), "--notebooks",
               str(CLASS / "notebooks"), env=env)
    assert run.returncode == 2, run.stderr
    assert "bubblewrap" in run.stderr and "--unsafe-no-sandbox" in run.stderr
    assert not (tmp_path / "out" / "gradebook.csv").exists()


def test_unsafe_mode_must_be_asked_for_and_is_recorded(tmp_path):
    subs = tmp_path / "subs"
    shutil.copytree(CLASS / "submissions" / "perfect", subs / "perfect")
    run = _cli(str(subs), "--out", str(tmp_path / "out"), "--notebooks", str(CLASS / "notebooks"),
               "--unsafe-no-sandbox", "--quiet")
    assert run.returncode == 0, run.stderr
    assert "--unsafe-no-sandbox" in run.stderr  # the warning
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert data["settings"]["isolation"]["mode"] == "unsafe-no-sandbox"
    assert any("unsafe-no-sandbox" in w for w in data["warnings"])


# -- denial of service: what flows back is bounded ----------------------------------------------
FLOOD = r'''
from IPython.display import publish_display_data

for _ in range(3):
    publish_display_data({"text/plain": "x" * (48 * 1024 * 1024)})
'''
LOUD = "def add(a, b):\n    raise ValueError('v' * 20_000_000)"


def test_huge_outputs_and_messages_do_not_flood_the_grader(tmp_path):
    subs = tmp_path / "subs"
    notebook(subs / "flood.ipynb", [FLOOD, ("demo.add", "def add(a, b):\n    return a + b")])
    notebook(subs / "loud.ipynb", [("demo.add", LOUD)])
    out = tmp_path / "out"
    code = ("import resource, sys; from kit.cli import main; code = main(sys.argv[1:]); "
            "print('peak', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(code)")
    run = subprocess.run([sys.executable, "-c", code, "grade", str(subs), "--out", str(out),
                          "--notebooks", str(CLASS / "notebooks"), "--quiet"],
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr
    peak_mb = int(run.stdout.split("peak")[-1]) / 1024
    assert peak_mb < 600, peak_mb  # three 48 MB outputs and a 20 MB message
    for path in [out / "results.json", *(out / "feedback").glob("*"), *(out / "gradescope").glob("*")]:
        assert path.stat().st_size < 1_000_000, path
    data = json.loads((out / "results.json").read_text())
    loud = next(s for s in data["students"] if s["student"] == "loud")
    add = loud["exercises"]["demo.add"]
    message = add["tests"][0]["message"] or add["message"]  # said once when every test says it
    assert add["tests"][0]["status"] == "error" and "ValueError" in message
    assert len(message) < 5000 and "characters in all" in message
    # the flood cost its author the connection to the kernel (a message over 32 MB closes it),
    # never the grader its memory; the run went on and graded it
    assert next(s for s in data["students"] if s["student"] == "flood")["notebooks"][0]["status"]


# -- an ordinary user ---------------------------------------------------------------------------
@pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/bin/python3").exists()
                    or shutil.which("runuser") is None, reason="needs root to become nobody")
def test_the_launcher_isolates_as_an_ordinary_user_too():
    """The launcher's unprivileged path, run by ``nobody`` with the system Python: the kernel
    keeps that uid (never mapped to root), sees only loopback, and can't write host files."""
    import tempfile

    from kit.grading.isolation import SANDBOX, runtime_paths

    folder = Path(tempfile.mkdtemp(prefix="smtpkit-test-user-"))
    (folder / "connection.json").write_text('{"key": "", "shell_port": 1, "iopub_port": 2, '
                                           '"stdin_port": 3, "control_port": 4, "hb_port": 5}')
    os.chown(folder, 65534, 65534)
    read_only, links = runtime_paths()
    plan = {"replies": str(folder / "replies"), "limits": {"cpu": 20, "nproc": 4096},
            "env": {"PATH": "/usr/bin:/bin"}, "user": None, "connection": str(folder / "connection.json"),
            "ipc": str(folder / "k"), "ipc_ports": [], "control": str(folder / "control"),
            "stage": str(folder), "read_only": [p for p in read_only if p.startswith(("/usr", "/etc"))],
            "symlinks": links, "hide": [], "tmpfs_mb": 16, "bwrap": shutil.which("bwrap")}
    check = ("import os, socket\n"
             "try:\n    open('/proc/sys/kernel/core_pattern', 'w').close(); w = 'writable'\n"
             "except OSError:\n    w = 'refused'\n"
             "print(os.getuid(), w, [n for _, n in socket.if_nameindex()], os.path.exists('/work'))")
    try:
        run = subprocess.run(["runuser", "-u", "nobody", "--", "/usr/bin/python3", "-I", "-S",
                              SANDBOX, json.dumps(plan), "--", "/usr/bin/python3", "-I", "-S",
                              "-c", check], capture_output=True, text=True, timeout=60)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["65534", "refused", "['lo']", "False"]


CHILDREN = r'''
import os
import time


def children(count, megabytes):
    """Children that each stay under the per-process limit, together over the kernel's memory."""
    pids = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            try:
                data = b"\x01" * (megabytes * 1024 * 1024)  # touched, not just reserved
                time.sleep(1.5)
                os._exit(0 if data else 1)
            except MemoryError:
                os._exit(2)
        pids.append(pid)
    statuses = [os.waitpid(pid, 0)[1] for pid in pids]
    done = sum(1 for s in statuses if os.WIFEXITED(s) and os.WEXITSTATUS(s) == 0)
    return "bounded" if done < count else "all %d children held %d MB each" % (count, megabytes)
'''


@pytest.mark.skipif(os.geteuid() != 0, reason="the memory cgroup needs a grader running as root")
def test_children_and_tmpfs_count_against_the_memory_limit(tmp_path):
    registry = Registry()
    registry.register(Exercise("attack.children", "Children", (Case("bounded", (3, 500), "bounded"),),
                               function="children", time_limit=30))
    stub = "def children(n, mb):\n    raise NotImplementedError"
    notebook(tmp_path / "released" / "01.ipynb", [("attack.children", stub)])
    notebook(tmp_path / "subs" / "greedy.ipynb", [("attack.children", CHILDREN)])
    report = grade(tmp_path / "subs", None, notebooks=tmp_path / "released", workers=1,
                   registry=registry, limits=Limits(memory_mb=1200, notebook_timeout=120))
    result = report.students[0].results["attack.children"]
    assert result.passed, (result.tests[0].message, result.tests[0].got)
    assert report.sandbox.cgroups, "no memory cgroup for the kernel"


def _orphaned_launchers() -> set[int]:
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        parent = next((line.split()[1] for line in status.splitlines() if line.startswith("PPid:")), "")
        if parent == "1" and b"kit/grading/sandbox.py" in cmdline:
            found.add(int(pid))
    return found


def test_kernels_die_with_a_killed_grader(tmp_path):
    """A grader killed with SIGKILL (no clean-up runs) leaves no kernel behind: the launcher's
    parent-death signal survives its drop to the sandbox user."""
    import signal
    import time

    before = _orphaned_launchers()
    subs = tmp_path / "subs"
    notebook(subs / "sleeper" / "01_add.ipynb", ["import time\ntime.sleep(60)"])
    grader = subprocess.Popen([sys.executable, "-m", "kit", "grade", str(subs), "--out",
                               str(tmp_path / "out"), "--notebooks", str(CLASS / "notebooks"),
                               "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(Path("/proc").glob(f"{grader.pid}/task")):
        time.sleep(0.1)
    time.sleep(6)  # the kernel is up and sleeping
    grader.send_signal(signal.SIGKILL)
    grader.wait()
    time.sleep(2)
    assert _orphaned_launchers() - before == set()
