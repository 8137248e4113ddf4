"""A participant's server: sync the lessons into ``~/lessons`` (and give JupyterLab its
defaults), then run the real server.

``python -m grader.workshop.start_server LESSONS -- jupyterhub-singleuser ARGS...``
runs as the participant (the spawner has already switched to their user).
"""

import os
import sys
from pathlib import Path

from grader.workshop.sync import sync

# JupyterLab defaults each participant starts with (theirs to change): no news toast.
SETTINGS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings":
            '{"fetchNews": "false", "checkForUpdates": false}'}


def default_settings(home):
    """Write the JupyterLab settings above where the participant has none."""
    folder = Path(home) / ".jupyter" / "lab" / "user-settings"
    for name, text in SETTINGS.items():
        path = folder / name
        if not path.exists() and not path.is_symlink():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)


def main(argv=None):
    """Sync, then replace this process with the command after ``--``."""
    argv = sys.argv[1:] if argv is None else argv
    if "--" not in argv or argv.index("--") != 1:
        sys.exit("usage: python -m grader.workshop.start_server LESSONS -- COMMAND ...")
    lessons, command = argv[0], argv[2:]
    try:
        done = sync(lessons, Path.home() / "lessons")
        print(f"lessons: {len(done['copied'])} copied, {len(done['updated'])} updated, "
              f"{len(done['kept'])} of yours kept", file=sys.stderr)
        default_settings(Path.home())
    except OSError as exc:  # never keep a participant from their server
        print(f"lessons not synced: {exc}", file=sys.stderr)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
