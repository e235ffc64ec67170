"""`smtpkit lab`: JupyterLab on the student notebooks, on 127.0.0.1 only, 00_start_here first;
a clear message and exit code 2 for a bad or taken port; one real start and a clean stop."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from kit.course import lab
from kit.course.command import main

ROOT = Path(__file__).resolve().parents[1]
SMTPKIT = [sys.executable, "-m", "kit"]


@pytest.fixture
def taken_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def run_lab(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*SMTPKIT, "lab", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_taken_port_is_refused_with_a_clear_message(taken_port, tmp_path):
    done = run_lab("--port", str(taken_port), "--no-browser", "--notebooks", str(tmp_path / "notebooks"))
    assert done.returncode == 2, done
    assert f"port {taken_port} on 127.0.0.1 is already in use" in done.stderr
    assert "--port N" in done.stderr
    assert not (tmp_path / "notebooks").exists()  # nothing written before the port check


def test_bad_port_argument_exits_2():
    done = run_lab("--port", "99999")
    assert done.returncode == 2 and "port 99999 is outside 1-65535" in done.stderr


def test_default_port_falls_back_to_a_free_one(monkeypatch):
    monkeypatch.setattr(lab, "port_in_use", lambda port, host=lab.HOST: port == lab.DEFAULT_PORT)
    port = lab.choose_port(None)
    assert port != lab.DEFAULT_PORT and 1024 <= port <= 65535
    with pytest.raises(lab.LabError) as caught:
        lab.choose_port(lab.DEFAULT_PORT)
    assert caught.value.exit_code == 2


def test_jupyter_command_listens_on_loopback_only_and_opens_start_here():
    cmd = lab.jupyter_command(Path("/course/notebooks"), 8899, first="00_start_here.ipynb", open_browser=False,
                              allow_root=False, python="python3")
    assert cmd[:3] == ["python3", "-m", "jupyterlab"]
    assert "--ServerApp.ip=127.0.0.1" in cmd
    assert "--ServerApp.port=8899" in cmd and "--ServerApp.port_retries=0" in cmd
    assert "--ServerApp.root_dir=/course/notebooks" in cmd
    assert "--ServerApp.open_browser=False" in cmd
    assert "--LabApp.default_url=/lab/tree/00_start_here.ipynb" in cmd
    assert not any("token" in part.lower() for part in cmd)  # the token comes from the environment
    assert "--ServerApp.contents_manager_class=kit.course.lab.CourseContentsManager" in cmd
    assert "--ServerApp.allow_root=True" in lab.jupyter_command(Path("n"), 1, allow_root=True)
    assert lab.lab_url(8899, "abc") == "http://127.0.0.1:8899/lab/tree/00_start_here.ipynb?token=abc"


def test_print_command_for_the_repository(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["--print-command", "--no-browser", "--port", str(lab.free_port())]) == 0
    line = capsys.readouterr().out
    assert f"--ServerApp.root_dir={ROOT / 'notebooks'}" in line
    assert "--LabApp.default_url=/lab/tree/00_start_here.ipynb" in line


def test_first_notebook(tmp_path):
    assert lab.first_notebook(tmp_path) is None
    (tmp_path / "03_b.ipynb").write_text("{}")
    (tmp_path / "01_a.ipynb").write_text("{}")
    assert lab.first_notebook(tmp_path) == "01_a.ipynb"
    (tmp_path / "00_start_here.ipynb").write_text("{}")
    assert lab.first_notebook(tmp_path) == "00_start_here.ipynb"


def test_missing_student_notebooks_are_written_existing_ones_kept(tmp_path):
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "00_start_here.ipynb").write_text((ROOT / "notebooks" / "00_start_here.ipynb").read_text()
                                                   .replace("Start here", "Start here (my notes)"))
    course = lab.prepare_notebooks(lab.find_course(notebooks))
    assert "00_start_here.ipynb" not in course.written and "01_history_and_architecture.ipynb" in course.written
    assert course.differ == ["00_start_here.ipynb"]
    assert "my notes" in (notebooks / "00_start_here.ipynb").read_text()
    assert (notebooks / "02_the_smtp_dialogue.ipynb").read_bytes() == (
        ROOT / "notebooks" / "02_the_smtp_dialogue.ipynb").read_bytes()


def test_quiet_settings_are_defaults_after_the_users_own_config(tmp_path):
    with lab.quiet_config_path() as folder:
        overrides = json.loads((folder / "labconfig" / "default_setting_overrides.json").read_text())
        assert overrides == {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                                             "checkForUpdates": False}}
        env = lab.lab_environment("tok", folder, base={"PATH": "/bin", "JUPYTER_CONFIG_PATH": "/mine"})
        assert env == {"PATH": "/bin", "JUPYTER_TOKEN": "tok", "JUPYTER_CONFIG_PATH": f"/mine{os.pathsep}{folder}"}
        # what JupyterLab's settings handler reads as default overrides
        from jupyter_server.services.config.manager import ConfigManager

        manager = ConfigManager(config_dir_name="labconfig", read_config_path=[str(tmp_path / "user"),
                                                                              str(folder / "labconfig")])
        assert manager.get("default_setting_overrides") == overrides
    assert not folder.exists()


def test_a_released_notebook_is_shown_with_the_kernels_metadata():
    from ipykernel.ipkernel import IPythonKernel

    released = json.loads((ROOT / "notebooks" / "00_start_here.ipynb").read_text())
    spec = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    assert lab.as_the_kernel_reports(released, spec, IPythonKernel.language_info)
    assert released["metadata"]["kernelspec"] == spec
    assert released["metadata"]["language_info"] == IPythonKernel.language_info
    saved = json.loads(json.dumps(released))  # already as the kernel says: left alone
    assert not lab.as_the_kernel_reports(saved, spec, IPythonKernel.language_info) and saved == released
    other = {"metadata": {"kernelspec": {"name": "ir", "display_name": "R", "language": "R"},
                          "language_info": {"name": "R"}}, "cells": []}
    assert not lab.as_the_kernel_reports(other, spec, IPythonKernel.language_info)
    assert lab.CourseContentsManager.__name__ == "CourseContentsManager"


def test_only_the_kits_own_notebooks_are_trusted(tmp_path):
    import nbformat
    from nbformat.sign import NotebookNotary

    from kit.authoring import MANIFEST

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name in ("00_start_here.ipynb", "01_history_and_architecture.ipynb", MANIFEST):
        shutil.copy(ROOT / "notebooks" / name, notebooks)
    changed = notebooks / "01_history_and_architecture.ipynb"
    changed.write_text(changed.read_text().replace("History", "Histories"))
    (notebooks / "foreign.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))
    notary = NotebookNotary(data_dir=str(tmp_path / "data"))
    assert lab.trust_course(lab.find_course(notebooks), notary) == ["00_start_here.ipynb"]
    assert notary.check_signature(nbformat.read(notebooks / "00_start_here.ipynb", as_version=4))
    assert not notary.check_signature(nbformat.read(changed, as_version=4))
    assert not notary.check_signature(nbformat.read(notebooks / "foreign.ipynb", as_version=4))


def test_no_course_found_is_exit_2(tmp_path):
    with pytest.raises(lab.LabError) as caught:
        lab.prepare_notebooks(lab.find_course(tmp_path / "empty"))
    assert caught.value.exit_code == 2 and "no notebooks in" in str(caught.value)


def test_widgets_extension_and_kernel_need_no_extra_steps():
    assert lab.preflight() == []


# --------------------------------------------------------------------------- #
# one real start
# --------------------------------------------------------------------------- #
def _listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as in /proc/net/tcp*) with a socket listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads /proc (Linux)")
@pytest.mark.timeout(60)
def test_real_start_serves_on_loopback_and_stops_cleanly(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name in ("00_start_here.ipynb", "01_history_and_architecture.ipynb", ".smtpkit-release.json"):
        shutil.copy(ROOT / "notebooks" / name, notebooks)
    port = lab.free_port()
    token = "t0k3n-for-the-test"
    env = dict(os.environ, JUPYTER_TOKEN=token, JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), IPYTHONDIR=str(tmp_path / "ipython"),
               JUPYTER_DATA_DIR=str(tmp_path / "data"))
    proc = subprocess.Popen([*SMTPKIT, "lab", "--no-browser", "--port", str(port), "--notebooks", str(notebooks)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "listening on 127.0.0.1 only" in line:
                break
        output = "".join(lines)
        url = next((line.strip() for line in lines if "?token=" in line), None)
        assert url == f"http://127.0.0.1:{port}/lab/tree/00_start_here.ipynb?token={token}", output
        assert "JupyterLab is ready" in output

        assert _listening_addresses(port) == {"0100007F"}, "JupyterLab must listen on 127.0.0.1 only"
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/status",
                                         headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
        with pytest.raises(urllib.error.HTTPError) as refused:  # no token, no API
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents", timeout=10)
        assert refused.value.code == 403
        # a notebook as JupyterLab loads it: trusted (no warning below), metadata as the kernel reports it
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/contents/00_start_here.ipynb",
                                         headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            model = json.loads(answer.read())
        assert model["content"]["metadata"]["language_info"]["version"] == sys.version.split()[0]
        assert model["content"]["metadata"]["kernelspec"]["display_name"] == "Python 3 (ipykernel)"
        released = (ROOT / "notebooks" / "00_start_here.ipynb").read_bytes()
        assert (notebooks / "00_start_here.ipynb").read_bytes() == released  # shown so, not written so
        jupyter = _children(proc.pid)
        assert len(jupyter) == 1

        proc.send_signal(signal.SIGTERM)  # smtpkit passes it on; JupyterLab stops its kernels and exits
        proc.wait(timeout=20)
        output += proc.stdout.read()
        assert "403 GET /api/status" not in output and "403 GET /api " not in output, output  # the probe's
        assert "not trusted" not in output, output
        assert not Path(f"/proc/{jupyter[0]}").exists()
        assert _listening_addresses(port) == set()
    finally:
        for pid in _children(proc.pid):
            os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
