"""A real JupyterLab server on a scratch copy of the course, for the browser tests.

It starts the way ``make lab`` does (``jupyter lab --ServerApp.root_dir=...
--LabApp.default_url=/lab/tree/lessons``), on a free localhost port with a
random token, with a fresh ``HOME`` and Jupyter config, and with this
environment's ``bin`` first on PATH so that kernels have TensorFlow and
``DLCOURSE_DATA``. Its root is a copy of the course: running a lesson or
pressing Validate (which saves) never touches the committed notebooks.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

from grader.course import ENV_BIN, env_path, write_scratch_config

from .paths import EXERCISES, LESSONS, SOLUTIONS

BIN = ENV_BIN

# JupyterLab user settings: no news toast, no update check; every cell stays
# rendered (the default attaches off-screen cells lazily, which moves things
# while the tests look at them).
SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
    },
}


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def borrowed_environment(venv, jupyter=False):
    """A virtual environment at ``venv`` that has every package of this one but the course.

    What ``pip install`` of the course's dependencies would give, without the network:
    its site-packages reads this environment's through a .pth line (which does not
    run the course's editable-install hook, so ``import dlcourse`` fails until the
    course is installed into it). With ``jupyter``, its ``share/jupyter`` and
    ``etc/jupyter`` are this environment's too (JupyterLab's and nbgrader's extensions,
    as pip would have put them there). Returns ``(python, its site-packages)``.
    """
    venv = Path(venv)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; "
                           "print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "course-environment.pth").write_text(sysconfig.get_path("purelib") + "\n")
    if jupyter:
        for part in ("share", "etc"):
            (venv / part).mkdir(exist_ok=True)
            (venv / part / "jupyter").symlink_to(Path(sys.prefix) / part / "jupyter")
    return python, site


def wait_for_server(base, token, process, timeout=90):
    """Wait until the Jupyter server at ``base`` answers ``/api/status``; raise if
    ``process`` exits first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode})")
        try:
            request = urllib.request.Request(f"{base}/api/status",
                                             headers={"Authorization": f"token {token}"})
            with urllib.request.urlopen(request, timeout=5) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the server at {base} did not answer within {timeout} s")


def stop_group(process, timeout=20):
    """SIGTERM ``process``'s process group (a server and its kernels), then SIGKILL."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    except ProcessLookupError:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait(timeout=10)


def scratch_course(root):
    """Copy lessons/, solutions/ and exercises/ to ``root``, with an nbgrader config
    that loads the course's own (``grader/nbgrader_config.py``) and keeps the
    course root and the gradebook in ``root``. Returns ``root``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    skip = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "logs")
    for folder in (LESSONS, SOLUTIONS, EXERCISES):
        if folder.is_dir():
            shutil.copytree(folder, root / folder.name, ignore=skip)
        else:
            (root / folder.name).mkdir()
    write_scratch_config(root)
    return root


class Lab:
    """``jupyter lab`` serving ``root``; ``url(path)`` gives a logged-in address.

    Use as a context manager, or call ``stop()``: it shuts down the server and
    every kernel it started.
    """

    def __init__(self, root, home, timeout=90):
        self.root = Path(root)
        self.home = Path(home)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = self.home / "jupyterlab.log"
        settings = self.home / ".jupyter" / "lab" / "user-settings"
        for name, values in SETTINGS.items():
            (settings / name).parent.mkdir(parents=True, exist_ok=True)
            (settings / name).write_text(json.dumps(values))
        env = dict(os.environ)
        env.pop("MPLBACKEND", None)  # kernels must use the inline backend, as for a student
        env.update(
            HOME=str(self.home),
            JUPYTER_CONFIG_DIR=str(self.home / ".jupyter"),
            JUPYTER_DATA_DIR=str(self.home / ".local" / "share" / "jupyter"),
            JUPYTER_RUNTIME_DIR=str(self.home / ".local" / "share" / "jupyter" / "runtime"),
            IPYTHONDIR=str(self.home / ".ipython"),
            PATH=env_path(),
        )
        self._log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            [
                str(BIN / "jupyter"), "lab",
                f"--ServerApp.root_dir={self.root}",
                "--LabApp.default_url=/lab/tree/lessons",
                f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
                "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={self.token}",
                "--no-browser", "--allow-root",
            ],
            cwd=self.root, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_until_up(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_until_up(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited ({self.process.returncode}):\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.base}/api/status?token={self.token}",
                                            timeout=5) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"jupyter lab did not answer within {timeout} s:\n{self.log()}")

    def url(self, path=""):
        """Address of ``path`` on the server, with the token (logs the browser in)."""
        sep = "&" if "?" in path else "?"
        return f"{self.base}/{path.lstrip('/')}{sep}token={self.token}"

    def log(self):
        """The server's log so far (for failure messages)."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")[-6000:]

    def stop(self):
        """Shut the server down (its kernels with it); kill what is left after 20 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # stops cleanly, kernels first
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        try:  # anything left in the server's process group
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False
