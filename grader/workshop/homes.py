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
``python -m grader hub`` mounts them again after a reboot. Her server's ``/tmp`` and
``/var/tmp`` are a folder of her home (``private_tmp``, in a mount namespace of the
server's own), so they count against the same limit.
"""

import ctypes
import os
import re
import shutil
import stat
import subprocess
import time
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
    tmp = home / TMP
    if not tmp.exists():
        tmp.mkdir(mode=0o700)
        os.chown(tmp, account.pw_uid, account.pw_gid)
    return path


_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, MS_BIND, MS_REC, MS_PRIVATE = 0x20000, 0x1000, 0x4000, 0x40000
TMP = ".tmp"  # in each home: the participant's /tmp and /var/tmp


class NoNamespace(OSError):
    """This machine gives the hub no mount namespaces (a container without CAP_SYS_ADMIN)."""


def _check(result, what):
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def private_tmp(home, uid, gid):
    """Give this process (a participant's server about to start, still root) a mount
    namespace of its own in which ``/tmp`` and ``/var/tmp`` are ``HOME/.tmp``: what she
    writes there counts against her home file system, and nobody else sees it. The
    folder is opened without following links (a link she left there is moved aside).
    Raises ``NoNamespace`` where namespaces are refused, any other OSError when the
    folder cannot be made private: then her server does not start (fail closed)."""
    if _libc.unshare(CLONE_NEWNS) != 0:
        raise NoNamespace(ctypes.get_errno(), "unshare(CLONE_NEWNS) refused")
    path = os.path.join(home, TMP)
    info = os.lstat(path) if os.path.lexists(path) else None
    if info is not None and not (stat.S_ISDIR(info.st_mode) and info.st_uid == uid):
        os.rename(path, f"{path}.moved-{int(time.time())}")
    if not os.path.lexists(path):
        os.mkdir(path, 0o700)
        os.chown(path, uid, gid)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        os.fchmod(fd, 0o700)
        _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
        source = f"/proc/self/fd/{fd}".encode()
        for target in (b"/tmp", b"/var/tmp"):
            _check(_libc.mount(source, target, None, MS_BIND, None), f"bind {path} on {target}")
    finally:
        os.close(fd)


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
