"""A real workshop hub on 127.0.0.1 for the tests: JupyterHub, the proxy from
node_modules, participants as Unix users, nbgrader's exchange (grader.workshop).

The hub is set up with the options README gives hosts and nothing else: the
exchange is the course's configured one (``/srv/nbgrader/exchange``), homes are made
in ``/home`` with useradd's uids, kernels get the grader's default uids. A scratch
folder holds the course (unit 01_tensors) and the workshop state (``--folder``).
The exchange's course folder is claimed with a marker file: where it exists without
one (a real workshop on this machine), the tests are skipped rather than touch it.
``stop()`` ends the hub and every process of the test's accounts, unmounts and
deletes their homes, deletes the accounts, their cgroups and the course's exchange
folder.
"""

import csv
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psutil
import pytest

from grader.course import Course
from grader.workshop import homes, spawner
from grader.workshop.hubapi import HubAPI

from .grading import ScratchCourse
from .lab import free_port
from .paths import LESSONS, ROOT, SHARED_MNIST

PROXY = ROOT / "node_modules" / ".bin" / "configurable-http-proxy"
PASSWORD = "workshop-pass-1"
MARKER = ".dlcourse-hub-test"  # in the exchange's course folder: made by these tests
HOME_SIZE = "96M"  # --home-size of the test hub
PIDS_LIMIT = 256  # --pids-limit of the test hub


def open_for_participants(path):
    """Let other users pass through the folders above ``path`` (adds o+x, never o+r).

    A host clones the course somewhere open (README, "Workshop hosts"); a CI machine
    may clone it under a closed home such as /root. The test opens only the
    traverse bit, and ``close_again`` puts every mode back.
    """
    changed = []
    path = Path(path).resolve()
    for folder in reversed([path, *path.parents]):
        mode = os.stat(folder).st_mode
        if not mode & stat.S_IXOTH:
            os.chmod(folder, stat.S_IMODE(mode) | stat.S_IXOTH)
            changed.append((folder, stat.S_IMODE(mode)))
    return changed


def close_again(changed):
    """Undo ``open_for_participants``."""
    for folder, mode in reversed(changed):
        os.chmod(folder, mode)


class ScratchHub:
    """The workshop hub of a scratch course in ``base``, with an instructor ``admin``."""

    def __init__(self, base, admin, participants, cull_timeout=3600, cull_every=300,
                 lessons=("01_tensors",)):
        """``lessons``: the lessons participants get."""
        self.opened = open_for_participants(sysconfig.get_paths()["purelib"])
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base, 0o755)
        self.admin = admin
        self.names = [admin, *participants]
        self.folder = self.base / "workshop"
        self.home = Path("/home")  # the hub's default --home-base
        self.course = ScratchCourse(self.base / "course", ["01_tensors"])
        self.exchange = Course(self.course.root).exchange_root
        self.exchange_course = self.exchange / Course(self.course.root).coursedir.course_id
        self.claim_exchange()
        self.remove_accounts()  # a crashed run's
        (self.course.root / "lessons").mkdir()
        for lesson in lessons:
            shutil.copyfile(LESSONS / f"{lesson}.ipynb",
                            self.course.root / "lessons" / f"{lesson}.ipynb")
        self.port, self.hub_port, self.api_port = free_port(), free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.log_path = self.base / "hub.log"
        try:
            self.setup(cull_timeout, cull_every)
        except BaseException:
            self.stop()
            raise
        roster = self.base / "roster.csv"
        with open(roster, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["id", "name", "email"])
            for name in participants:
                writer.writerow([name, f"{name.title()} Tester", f"{name}@example.org"])
        self.roster = roster

    def claim_exchange(self):
        """Make the exchange's course folder this test's, or skip where a real one is."""
        if self.exchange_course.exists():
            if not (self.exchange_course / MARKER).is_file():
                close_again(self.opened)
                pytest.skip(f"{self.exchange_course} is in use (not made by these tests): "
                            "the hub tests use the configured exchange and leave it alone")
            shutil.rmtree(self.exchange_course)
        self.exchange_course.mkdir(parents=True)
        (self.exchange_course / MARKER).write_text("made by tests/support/hub.py\n")

    def grader(self, *args, timeout=1800, check=True):
        """``python -m grader --root COURSE ARGS`` as the instructor (root)."""
        return self.course.grader(*args, timeout=timeout, check=check)

    def setup(self, cull_timeout, cull_every):
        """``python -m grader hub --setup-only`` with this hub's ports and folders."""
        data = os.environ.get("DLCOURSE_DATA") or str(SHARED_MNIST)
        self.grader("hub", "--setup-only", "--folder", str(self.folder), "--ip", "127.0.0.1",
                    "--port", str(self.port), "--hub-port", str(self.hub_port),
                    "--proxy-api-port", str(self.api_port), "--admin", self.admin,
                    "--data", data, "--home-size", HOME_SIZE, "--pids-limit", str(PIDS_LIMIT),
                    "--mem-limit", "3G", "--cpu-limit", "1", "--cull-timeout", str(cull_timeout),
                    "--cull-every", str(cull_every), timeout=120)

    def start(self, timeout=90):
        """Start the hub (``python -m grader hub``); wait until its API answers."""
        self._log = open(self.log_path, "a")  # noqa: SIM115 (closed in stop_hub)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader", "--root", str(self.course.root), "hub",
             "--folder", str(self.folder)],
            cwd=self.base, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.api = HubAPI(f"{self.url}/hub/api", self.admin_token())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the hub exited ({self.process.returncode}):\n{self.log()}")
            if self.api.up():
                return self
            time.sleep(0.5)
        raise TimeoutError(f"the hub did not answer within {timeout} s:\n{self.log()}")

    def admin_token(self):
        """The token of the hub's dlcourse-admin service."""
        return (self.folder / "hub" / "admin-token").read_text().strip()

    def log(self):
        """The end of the hub's log."""
        return self.log_path.read_text(errors="replace")[-8000:]

    def stop_hub(self, timeout=60):
        """Stop the hub as Ctrl-C does (it stops the servers and the proxy)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._log.close()
        self.process = None

    def uids(self):
        """{name: uid} of the test's accounts that exist."""
        out = {}
        for name in self.names:
            try:
                out[name] = pwd.getpwnam(name).pw_uid
            except KeyError:
                pass
        return out

    def processes_of(self, name):
        """Processes running as ``name``."""
        uid = self.uids().get(name)
        return [p for p in psutil.process_iter(["uids"]) if uid is not None
                and p.info["uids"] and p.info["uids"].real == uid]

    def remove_accounts(self):
        """End the test accounts' processes; unmount and delete their homes; delete
        the accounts and their cgroups."""
        for name in self.names:
            for proc in self.processes_of(name):
                try:
                    proc.kill()
                    proc.wait(10)
                except psutil.Error:
                    pass
            home = self.home / name
            homes.release(home)
            if name in self.uids():
                subprocess.run(["userdel", "--force", name], capture_output=True)
                subprocess.run(["groupdel", name], capture_output=True)
            if not homes.mounted(home):
                shutil.rmtree(home, ignore_errors=True)
            spawner.release(name)
        for folder in spawner.cgroup_folders("-").values():
            try:  # the hub's parent group, once no other hub uses it
                folder.parent.rmdir()
            except OSError:
                pass

    def stop(self):
        """Stop the hub; remove the accounts, homes, cgroups and the exchange's course folder."""
        self.stop_hub()
        proxy_pid = self.folder / "hub" / "proxy.pid"
        if proxy_pid.is_file():
            try:
                os.kill(int(proxy_pid.read_text()), signal.SIGKILL)
            except (ValueError, ProcessLookupError):
                pass
        self.remove_accounts()
        if (self.exchange_course / MARKER).is_file():
            shutil.rmtree(self.exchange_course, ignore_errors=True)
        close_again(self.opened)

    def as_user(self, name, *command, check=False):
        """Run ``command`` as the Unix user ``name`` (runuser), in their home."""
        return subprocess.run(["runuser", "-u", name, "--", *command], capture_output=True,
                              text=True, cwd="/", timeout=120, check=check)


class UserServer:
    """Calls to ``name``'s own Jupyter server through the hub, with a token of theirs."""

    def __init__(self, hub, name):
        self.base = f"{hub.url}/user/{name}"
        self.token = hub.api.token_for(name)

    def request(self, method, path, body=None, form=None, timeout=300):
        """``method`` ``path`` on the server (JSON ``body`` or ``form`` fields); the
        decoded answer."""
        headers = {"Authorization": f"token {self.token}"}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as reply:
                text = reply.read().decode()
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{method} {path}: {exc.code} "
                                 f"{exc.read().decode(errors='replace')[:800]}") from None
        return json.loads(text) if text.strip() else None

    def nbgrader(self, action, unit, course):
        """nbgrader's Assignments tab action (fetch, submit, fetch_feedback, ...)."""
        answer = self.request("POST", f"/assignments/{action}",
                              form={"course_id": course, "assignment_id": unit})
        assert answer.get("success"), f"{action} {unit} failed: {answer}"
        return answer

    def read(self, path):
        """The contents API's model of ``path`` (with content)."""
        return self.request("GET", f"/api/contents/{urllib.parse.quote(path)}?content=1")

    def write_notebook(self, path, notebook):
        """Save ``notebook`` (a dict) at ``path`` through the contents API."""
        return self.request("PUT", f"/api/contents/{urllib.parse.quote(path)}",
                            body={"type": "notebook", "format": "json", "content": notebook})
