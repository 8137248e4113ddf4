"""JupyterHub configuration of the workshop hub (``python -m grader hub`` starts it).

Everything comes from the workshop's saved settings (``grader.workshop.layout``);
``DLCOURSE_WORKSHOP`` names the workshop folder. The choices:

- participants log in with FirstUseAuthenticator: the first login of a user the
  instructor added sets their password; a name nobody added is refused
  (``create_users = False``), so strangers cannot get in;
- each participant's server runs as their own Unix user (``CourseSpawner``, a
  LocalProcessSpawner with memory, CPU and process limits) in their home;
- idle servers are stopped by jupyterhub-idle-culler; their files stay.
"""

import os
import sys
from pathlib import Path

from grader.course import Course
from grader.workshop.layout import Workshop

c = get_config()  # noqa: F821 (injected by traitlets)

folder = os.environ.get("DLCOURSE_WORKSHOP")
course_root = os.environ.get("DLCOURSE_COURSE_ROOT")
if not folder or not course_root:
    sys.exit("start the workshop hub with `python -m grader hub`, not jupyterhub directly")
workshop = Workshop(Course(course_root), folder)
s = workshop.settings()
hub = workshop.hub

c.JupyterHub.bind_url = f"http://{s['ip']}:{s['port']}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{s['hub_port']}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{s['proxy_api_port']}"
c.ConfigurableHTTPProxy.command = [s["proxy"]]
c.ConfigurableHTTPProxy.pid_file = str(hub / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{hub / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(hub / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(hub / "jupyterhub.pid")

c.JupyterHub.authenticator_class = "firstuseauthenticator.FirstUseAuthenticator"
c.FirstUseAuthenticator.create_users = False
c.FirstUseAuthenticator.dbm_path = str(hub / "passwords.dbm")
c.FirstUseAuthenticator.min_password_length = 8
c.Authenticator.allowed_users = set(workshop.users())
c.Authenticator.admin_users = set(s["admins"])
c.Authenticator.allow_existing_users = True

c.JupyterHub.spawner_class = "grader.workshop.spawner.CourseSpawner"
venv = Path(s["venv_bin"])
python = str(Path(s["participant_bin"]) / "python")  # grader.workshop.runtime
c.Spawner.cmd = [python, "-m", "grader.workshop.start_server",
                 str(Path(s["course_root"]) / "lessons"), "--",
                 python, "-m", "jupyterhub.singleuser"]
c.Spawner.notebook_dir = "~"
c.Spawner.default_url = "/lab"
c.Spawner.mem_limit = s["mem_limit"]
c.Spawner.cpu_limit = float(s["cpu_limit"])
c.CourseSpawner.pids_limit = int(s["pids_limit"])
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
c.Spawner.environment = {
    "PATH": f"{s['participant_bin']}:/usr/local/bin:/usr/bin:/bin",
    # participants' settings first, then the course environment's (extensions enabled there)
    "JUPYTER_CONFIG_PATH": f"{s['participant_config']}:{venv.parent / 'etc' / 'jupyter'}",
    "JUPYTER_PATH": str(venv.parent / "share" / "jupyter"),
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "CUDA_VISIBLE_DEVICES": "-1",
    **({"DLCOURSE_DATA": s["data"]} if s["data"] else {}),
}

c.JupyterHub.services = [
    {"name": "dlcourse-admin", "api_token": workshop.admin_token()},
    {"name": "idle-culler", "command": [
        sys.executable, "-m", "jupyterhub_idle_culler",
        f"--timeout={int(s['cull_timeout'])}", f"--cull-every={int(s['cull_every'])}"]},
]
c.JupyterHub.load_roles = [
    {"name": "dlcourse-admin", "services": ["dlcourse-admin"],
     "scopes": ["admin:users", "admin:servers", "tokens", "list:users", "read:hub",
                "access:servers"]},
    {"name": "idle-culler", "services": ["idle-culler"],
     "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]},
]
