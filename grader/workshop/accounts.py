"""Participants: a Unix account and home each, a hub user, a gradebook student.

``add_participants`` takes a roster (``grader.intake.roster``: id, name, email) and,
for each row, creates the Unix account (home mode 0700, so nobody else reads it, on
a file system of its own of the workshop's ``home_size``: ``grader.workshop.homes``),
lets the id into the hub (saved in the workshop settings, and through the REST API
when the hub is running) and adds the student to the gradebook. Running it again
with a longer roster adds the new rows and changes nothing else.
"""

import os
import pwd
import re
import subprocess
from pathlib import Path

from grader.intake.roster import add_to_gradebook, read_roster
from grader.workshop import homes
from grader.workshop.hubapi import HubAPI

# Portable Unix user names (JupyterHub also lower-cases names at login).
UNIX_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


def check_names(ids):
    """Raise ValueError naming every id that cannot be a Unix account name."""
    bad = [i for i in ids if not UNIX_NAME.match(i)]
    if bad:
        raise ValueError(
            "these ids cannot be Unix account names on the hub: " + ", ".join(map(repr, bad))
            + ". Use lower-case letters, digits, _ and - (at most 32 characters, starting "
            "with a letter or _) in the roster's id column")


def ensure_account(name, home_base="/home", uid=None):
    """Create the Unix account ``name`` with a private home (nothing when it exists);
    return its passwd entry."""
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        account = None
    if account is None:
        home = Path(home_base) / name
        command = ["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash",
                   "--user-group"]
        if uid is not None:
            command += ["--uid", str(uid)]
        proc = subprocess.run(command + [name], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"useradd {name} failed: {proc.stderr.strip()} (run as root)")
        account = pwd.getpwnam(name)
    os.chmod(account.pw_dir, 0o700)
    return account


def add_participants(workshop, roster_path):
    """Everyone in the roster at ``roster_path``: Unix account, hub user, gradebook
    student. Returns {"accounts": [names], "gradebook": add_to_gradebook's answer,
    "hub": "added" | "saved (the hub picks them up when it starts)"}."""
    rows = read_roster(roster_path)
    ids = [r["id"] for r in rows]
    check_names(ids)
    settings = workshop.settings()
    base = settings["uid_base"]
    for i, name in enumerate(ids):
        uid = None
        if base is not None:
            taken = {p.pw_uid for p in pwd.getpwall()}
            uid = next(u for u in range(int(base) + i, int(base) + 60000) if u not in taken)
        homes.ensure(workshop, ensure_account(name, settings["home_base"], uid))
    workshop.save(users=sorted(set(settings.get("users", [])) | set(ids)))
    gradebook = add_to_gradebook(workshop.course, rows)
    api = HubAPI(workshop.api_url(), workshop.admin_token())
    hub = "saved (the hub lets them in when it starts)"
    if api.up():
        for name in ids:
            api.add_user(name)
        hub = "added"
    return {"accounts": ids, "gradebook": gradebook, "hub": hub}
