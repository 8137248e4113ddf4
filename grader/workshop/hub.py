"""Set up and start the workshop hub: ``python -m grader hub``.

Saves the settings given, prepares the folders and the exchange
(``Workshop.prepare``), creates the admins' Unix accounts, mounts every home file
system that is not mounted (``grader.workshop.homes``), then runs JupyterHub in
the foreground (as root, in the workshop's ``hub/`` folder) with
``grader/workshop/jupyterhub_config.py``. Ctrl-C stops it and every server.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

from grader.workshop import accounts, homes

CONFIG = Path(__file__).resolve().parent / "jupyterhub_config.py"


def command(workshop):
    """The command line and environment that run the hub of ``workshop``."""
    env = dict(os.environ, DLCOURSE_WORKSHOP=str(workshop.folder),
               DLCOURSE_COURSE_ROOT=str(workshop.course.root),
               PATH=f"{workshop.venv_bin}{os.pathsep}{os.environ.get('PATH', '')}")
    return [str(workshop.venv_bin / "jupyterhub"), "-f", str(CONFIG)], env


def setup(workshop, **settings):
    """Save ``settings``, prepare the folders and create the admins' accounts."""
    if os.geteuid() != 0:
        raise PermissionError("the workshop hub runs as root (it starts each participant's "
                              "server as their own Unix user): run it with sudo")
    if settings.get("admins"):
        accounts.check_names(settings["admins"])
        settings["admins"] = sorted(set(workshop.settings()["admins"]) | set(settings["admins"]))
    if settings.get("home_size") is not None:
        homes.parse_size(settings["home_size"])
    s = workshop.save(**settings)
    workshop.prepare()
    for name in s["admins"]:
        homes.ensure(workshop, accounts.ensure_account(name, s["home_base"]))
    homes.mount_all(workshop, workshop.users())  # after a reboot
    return s


def run(workshop):
    """Run the hub in the foreground until it stops; return its exit status."""
    argv, env = command(workshop)
    s = workshop.settings()
    print(f"JupyterHub for {workshop.course_id} on http://{s['ip']}:{s['port']} "
          f"(admins: {', '.join(s['admins']) or 'none'}; {len(workshop.users())} users); "
          f"state in {workshop.hub}", file=sys.stderr, flush=True)
    hub = subprocess.Popen(argv, cwd=workshop.hub, env=env)
    # Ctrl-C reaches JupyterHub too (same process group): this process waits while it
    # stops every server, instead of killing it halfway (subprocess.call would).
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return hub.wait()
    finally:
        signal.signal(signal.SIGINT, old)
