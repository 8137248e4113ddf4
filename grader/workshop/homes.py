"""Each participant's home on a file system of its own, of a fixed size.

Homes, ``/tmp``, the exchange, the hub's database and the instructor's data usually
share the server's one file system, so one participant writing without end fills it
for everyone. Here each home is an ext4 image of ``home_size`` bytes (a sparse file in
the workshop's ``homes/`` folder, root only), loop-mounted on the home with
``nosuid,nodev``: a participant who fills it gets "No space left on device" in her own
home and nobody else notices. Chosen over disk quotas because quotas need a kernel
built with them (``CONFIG_QUOTA``: the test machines' kernel is not), a file system
mounted with ``usrquota`` and the quota tools; loop devices need neither. The image
also bounds her inodes. ``python -m grader participants`` makes and mounts them,
``python -m grader hub`` mounts them again after a reboot.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*$", re.I)


def parse_size(text):
    """Bytes of a size such as ``2G`` or ``500M`` (``0``: no limit)."""
    match = SIZE.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a size: write it like 2G or 500M (0: no limit)")
    number, unit = match.groups()
    return int(float(number) * 1024 ** " KMGT".index(unit.upper() or " "))


def mounted(path):
    """Whether ``path`` is a mount point."""
    return os.path.ismount(path)


def image(workshop, name):
    """The image file of ``name``'s home."""
    return workshop.homes / f"{name}.ext4"


def _run(command):
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        raise OSError(f"{' '.join(command)} failed: {proc.stderr.strip() or proc.stdout.strip()}")


def ensure(workshop, account):
    """Give ``account`` (a passwd entry) its own home file system, made from what its home
    holds now, and mount it there. Nothing when the size setting is 0 or it is mounted."""
    size = parse_size(workshop.settings()["home_size"])
    home = Path(account.pw_dir)
    if not size or mounted(home):
        return None
    if shutil.which("mkfs.ext4") is None:
        raise FileNotFoundError("mkfs.ext4 is missing: apt-get install e2fsprogs, or give "
                                "--home-size 0 (no disk limit per participant)")
    workshop.homes.mkdir(parents=True, exist_ok=True)
    os.chmod(workshop.homes, 0o700)
    path = image(workshop, account.pw_name)
    if not path.exists():
        with open(path, "wb") as fh:
            fh.truncate(size)
        _run(["mkfs.ext4", "-q", "-F", "-m", "0", "-d", str(home),
              "-E", f"root_owner={account.pw_uid}:{account.pw_gid}", str(path)])
        os.chmod(path, 0o600)
    try:
        _run(["mount", "-o", "loop,nosuid,nodev", str(path), str(home)])
    except OSError as exc:
        raise OSError(f"cannot mount {account.pw_name}'s home file system ({exc}); loop devices "
                      "may be unavailable here (a container?): give --home-size 0 to run "
                      "without a disk limit per participant") from None
    os.chmod(home, 0o700)
    return path


def release(home):
    """Unmount the home file system at ``home`` (lazily, if a process still holds it)."""
    if mounted(home):
        subprocess.run(["umount", "--lazy", str(home)], capture_output=True)


def mount_all(workshop, names):
    """Mount the home file systems of ``names`` that have one and are not mounted."""
    import pwd

    for name in names:
        try:
            account = pwd.getpwnam(name)
        except KeyError:
            continue
        if image(workshop, name).exists():
            ensure(workshop, account)
