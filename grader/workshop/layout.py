"""Where a workshop hub keeps its state, and who may read what.

The workshop folder (default ``/srv/dlcourse-hub``) holds ``hub/`` (root only: the
hub's database, cookie secret, passwords, API token and ``settings.json``) and
``participant-config/`` (read by every participant's server: nbgrader's student-side
configuration and the JupyterLab extensions students do not get) and ``homes/``
(root only: each participant's home file system, ``grader.workshop.homes``). nbgrader's
exchange lives where the course configuration sets it (``c.Exchange.root`` in
``grader/nbgrader_config.py``); participants' servers get the same root. The saved
MNIST path is also noted in the course's ``instructor-data/workshop.json``, where
``autograde`` finds it after the workshop.
"""

import json
import os
import secrets
import sys
from pathlib import Path

from grader.course import DATA_FOLDER

DEFAULT_FOLDER = "/srv/dlcourse-hub"
# configurable-http-proxy, installed by `make hub` (npm ci) beside this code.
PROXY = Path(__file__).resolve().parents[2] / "node_modules" / ".bin" / "configurable-http-proxy"
DEFAULTS = {
    "ip": "0.0.0.0", "port": 8000, "hub_port": 8081, "proxy_api_port": 8001,
    "admins": [], "mem_limit": "4G", "cpu_limit": 1.0, "cull_timeout": 3600,
    "cull_every": 300, "data": None, "home_base": "/home", "uid_base": None,
    "pids_limit": 1024, "home_size": "2G",
}
# Where a course notes the hub's saved MNIST path (read by ``autograde``).
COURSE_NOTE = "workshop.json"
# Course folders no participant may read: graded sources with hidden tests, the
# gradebook and submissions, the wrong-answer fixtures, and git history (it holds them all).
PRIVATE = ("solutions", "instructor-data", "tests", ".git")
# What participants' servers must not load: the instructor's tools.
PARTICIPANT_LAB = {"disabledExtensions": {
    "@jupyter/nbgrader:formgrader": True, "@jupyter/nbgrader:create-assignment": True,
    "@jupyter/nbgrader:course-list": True}}
PARTICIPANT_SERVER = {"ServerApp": {"jpserver_extensions": {
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.course_list": False}}}


def saved_data(course):
    """The MNIST path the course's workshop hub was given (``hub --data``), or None."""
    try:
        return json.loads((course.root / DATA_FOLDER / COURSE_NOTE).read_text()).get("data")
    except (OSError, ValueError):
        return None


class Workshop:
    """The hub of ``course`` (a ``grader.course.Course``) with its state in ``folder``."""

    def __init__(self, course, folder=None):
        self.course = course
        self.folder = Path(folder or DEFAULT_FOLDER).resolve()
        self.hub = self.folder / "hub"
        self.participant_config = self.folder / "participant-config"
        self.settings_path = self.hub / "settings.json"
        self.token_path = self.hub / "admin-token"
        self.exchange = course.exchange_root
        self.homes = self.folder / "homes"
        self.course_id = course.coursedir.course_id
        self.venv_bin = Path(sys.executable).parent

    def settings(self):
        """The saved settings (``DEFAULTS`` where none was saved), with the paths."""
        saved = json.loads(self.settings_path.read_text()) if self.settings_path.is_file() else {}
        out = {**DEFAULTS, **saved}
        out.update(course_root=str(self.course.root), folder=str(self.folder),
                   exchange=str(self.exchange), course_id=self.course_id,
                   venv_bin=str(self.venv_bin), participant_config=str(self.participant_config),
                   proxy=str(PROXY))
        return out

    def save(self, **changes):
        """Save ``changes`` (None values are ignored) over the settings; return them all."""
        self.hub.mkdir(parents=True, exist_ok=True)
        os.chmod(self.hub, 0o700)
        saved = json.loads(self.settings_path.read_text()) if self.settings_path.is_file() else {}
        unknown = set(changes) - set(DEFAULTS) - {"users", "participant_bin"}
        if unknown:
            raise ValueError(f"unknown workshop settings: {', '.join(sorted(unknown))}")
        saved.update({k: v for k, v in changes.items() if v is not None})
        self.settings_path.write_text(json.dumps(saved, indent=1))
        note = self.course.root / DATA_FOLDER / COURSE_NOTE
        note.write_text(json.dumps({"folder": str(self.folder), "data": saved.get("data")}))
        return self.settings()

    def users(self):
        """The participants and admins the hub lets in."""
        s = self.settings()
        return sorted(set(s.get("users", [])) | set(s["admins"]))

    def admin_token(self):
        """The API token of the hub's ``dlcourse-admin`` service (made on first use)."""
        if not self.token_path.is_file():
            self.hub.mkdir(parents=True, exist_ok=True)
            self.token_path.write_text(secrets.token_hex(32))
            os.chmod(self.token_path, 0o600)
        return self.token_path.read_text().strip()

    def api_url(self):
        """JupyterHub's REST API, through the proxy, on this machine."""
        s = self.settings()
        host = "127.0.0.1" if s["ip"] in ("0.0.0.0", "", "::") else s["ip"]
        return f"http://{host}:{s['port']}/hub/api"

    def prepare(self):
        """Make the folders, their permissions and the participants' configuration;
        raise with what to do when participants could not run the course's Python."""
        if not Path(self.settings()["proxy"]).is_file():
            raise FileNotFoundError("configurable-http-proxy is not installed in node_modules/: "
                                    "run `make hub` (or `npm ci` in the course root)")
        from grader.workshop.runtime import closed_folder, participant_python

        for path in (self.course.root, self.folder):
            if any(path == Path(t) or Path(t) in path.parents for t in ("/tmp", "/var/tmp")):
                raise ValueError(f"{path} is under /tmp, which each participant's server sees "
                                 "as a folder of her own home: put the course and the workshop "
                                 "folder elsewhere (e.g. /srv)")

        closed = closed_folder(self.course.root / "lessons" / "x")
        if closed is not None:
            raise PermissionError(
                f"participants cannot reach the course's lessons: {closed} is closed to other "
                "users. Clone the course somewhere open (e.g. /srv or /opt)")
        self.save(participant_bin=str(participant_python(self)))
        self.admin_token()
        self.lock_course()
        self.write_participant_config()
        from grader.workshop import exchange
        exchange.prepare(self.exchange, self.course_id)

    def lock_course(self):
        """Close the course's private folders to everyone but root."""
        for name in PRIVATE:
            path = self.course.root / name
            if path.exists():
                os.chmod(path, 0o700)

    def write_participant_config(self):
        """nbgrader's student side (course id, exchange, private submissions) and the
        instructor-only extensions turned off, in ``participant-config/``."""
        cfg = self.participant_config
        (cfg / "labconfig").mkdir(parents=True, exist_ok=True)
        (cfg / "jupyter_server_config.d").mkdir(exist_ok=True)
        (cfg / "nbgrader_config.py").write_text(
            "c = get_config()  # noqa: F821\n"
            f"c.CourseDirectory.course_id = {self.course_id!r}\n"
            f"c.Exchange.root = {str(self.exchange)!r}\n"
            "c.ExchangeFactory.submit = 'grader.workshop.exchange.PrivateSubmit'\n")
        (cfg / "labconfig" / "page_config.json").write_text(json.dumps(PARTICIPANT_LAB, indent=1))
        (cfg / "jupyter_server_config.d" / "zz-dlcourse-participant.json").write_text(
            json.dumps(PARTICIPANT_SERVER, indent=1))
        for dirpath, _, filenames in os.walk(self.folder / "participant-config"):
            os.chmod(dirpath, 0o755)
            for name in filenames:
                os.chmod(Path(dirpath, name), 0o644)
        os.chmod(self.folder, 0o755)
