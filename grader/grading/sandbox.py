"""The operating-system sandbox every grading kernel runs in (bubblewrap).

A grading kernel is started as

    bwrap --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp --tmpfs /run
          --tmpfs COURSE_ROOT --tmpfs HOME ...       (hidden: an empty folder)
          --ro-bind ENV ... --ro-bind DATA ...        (the environment, the data)
          --ro-bind KERNEL.json --bind SOCKETS --bind WORK   (its own folder)
          --unshare-ipc --unshare-pid --unshare-net --unshare-uts
          --die-with-parent --new-session --clearenv --setenv ... --chdir WORK
          setpriv --reuid UID --regid UID --clear-groups --no-new-privs ...
          python -m ipykernel_launcher -f KERNEL.json

so that it sees the whole file system read-only except its own working copy
of the submission (``WORK``, read-write) and an empty ``/tmp``; the course
root, the grading user's home and every other kernel's folder are empty
folders; it has no network (a private loopback) and its own PID namespace
(it cannot name, let alone signal, a process outside); it runs as an
unprivileged uid with no capabilities and ``no_new_privs``; and it dies,
with everything it started (a ``setsid`` child included), when its worker
kills it or dies. bwrap itself runs as the grading user (root) without a
user namespace, so the uid is a real one outside too: inside a user
namespace "nobody" would still be root to the files and sockets outside.

The kernel talks to its worker through Unix sockets (jupyter_client's
``ipc`` transport) in ``SOCKETS``, the only way through an unshared network.
``Sandbox.available()`` says whether bwrap can start here, and why not.
"""

import functools
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

MAX_COPY_BYTES = 256 * 2**20  # what a kernel's working copy may hold

INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`) and run "
                "grading as root, or pass --no-sandbox to run student code as this user, "
                "next to the course (it can then read and change the course)")


@functools.lru_cache(maxsize=1)
def available():
    """``None`` if sandboxed kernels can start here, else the reason they cannot."""
    bwrap, setpriv = shutil.which("bwrap"), shutil.which("setpriv")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed"
    if setpriv is None:
        return "setpriv (util-linux) is not installed"
    if os.geteuid() != 0:
        return ("grading must run as root to start kernels as another uid "
                f"(it runs as uid {os.geteuid()})")
    cmd = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", *UNSHARE,
           setpriv, "--reuid", "65534", "--regid", "65534", "--clear-groups", "true"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not start: {exc}"
    if proc.returncode != 0:
        return f"bwrap cannot create namespaces here: {proc.stderr.strip() or proc.returncode}"
    return None


UNSHARE = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
           "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
CAPS = ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
        "--cap-add", "CAP_SETPCAP", "--cap-add", "CAP_DAC_READ_SEARCH"]


@dataclass
class Folder:
    """A kernel's own folder: ``base/kernel.json``, ``base/sockets/``, ``base/work/``
    and ``base/matplotlib/`` (its MPLCONFIGDIR, seeded with the grading user's font
    list, so that no kernel spends seconds building one and warns on stderr)."""

    base: Path

    @property
    def connection_file(self):
        return self.base / "kernel.json"

    @property
    def sockets(self):
        return self.base / "sockets"

    @property
    def work(self):
        return self.base / "work"

    @property
    def matplotlib(self):
        return self.base / "matplotlib"

    def remove(self):
        shutil.rmtree(self.base, ignore_errors=True)


def make_folder(source, uid):
    """A fresh kernel folder whose ``work/`` is a copy of ``source``'s plain files.

    Notebooks are left out (the one being graded holds the hidden tests), and so
    are links and anything that is not a regular file; at most MAX_COPY_BYTES
    are copied. Everything the kernel may write belongs to ``uid``."""
    folder = Folder(Path(tempfile.mkdtemp(prefix="grader-kernel-")))
    folder.base.chmod(0o711)
    for sub in (folder.sockets, folder.work, folder.matplotlib):
        sub.mkdir(mode=0o700)
        os.chown(sub, uid, uid)
    cache = Path(os.environ.get("MPLCONFIGDIR") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "matplotlib"))
    for fonts in cache.glob("fontlist-*.json") if cache.is_dir() else []:
        shutil.copyfile(fonts, folder.matplotlib / fonts.name)
        os.chown(folder.matplotlib / fonts.name, uid, uid)
    if source is not None:
        _copy_plain(Path(source), folder.work, uid)
    return folder


def _copy_plain(src, dest, uid):
    budget = MAX_COPY_BYTES
    for dirpath, dirnames, filenames in os.walk(src):  # os.walk never enters linked folders
        rel = Path(dirpath).relative_to(src)
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            path = Path(dirpath, name)
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode) or name.endswith(".ipynb"):
                continue
            budget -= info.st_size
            if budget < 0:
                return
            target = dest / rel / name
            for parent in reversed(target.relative_to(dest).parents[:-1]):
                if not (dest / parent).exists():
                    (dest / parent).mkdir(mode=0o700)
                    os.chown(dest / parent, uid, uid)
            shutil.copyfile(path, target, follow_symlinks=False)
            os.chown(target, uid, uid)


# The repository this grader runs from (its solutions/, grader/, .venv): the course
# itself, and the course of every scratch copy graded with its environment.
INSTALLED_COURSE = Path(__file__).resolve().parents[2]


def hidden_paths(course_root):
    """Folders the kernel sees empty: the course, the repository the grader runs from,
    the grading user's home."""
    found = {Path(course_root).resolve(), INSTALLED_COURSE, Path.home().resolve()} - {Path("/")}
    return sorted(found, key=lambda p: len(p.parts))  # a parent before what it holds


def readonly_paths(data=None):
    """What the kernel may read under a hidden folder: the Python environment
    (``sys.prefix``, the interpreter's installation), the course's helper package
    and the data."""
    import dlcourse

    paths = [sys.prefix, sys.base_prefix, os.path.realpath(sys.executable),
             Path(dlcourse.__file__).resolve().parent]
    if data:
        paths.append(data)
    out = []
    for p in paths:
        p = Path(os.path.realpath(p))
        if p.exists() and p not in out:
            out.append(p)
    return out


def traversed(paths, tmpfs_roots):
    """The folders bwrap creates on an empty tmpfs to bind ``paths`` under it: their
    ancestors strictly inside one of ``tmpfs_roots``. bwrap makes them 0700 and root's,
    so the kernel's uid could not reach what is bound there (data under /tmp, a course
    environment in a hidden home) until they are opened for traversal."""
    paths = [Path(p) for p in paths]
    found = []
    for path in paths:
        for parent in reversed(path.parents):
            bound = any(parent == p or p in parent.parents for p in paths)  # not bwrap's
            if (not bound and parent not in found and parent not in tmpfs_roots
                    and any(root in parent.parents for root in tmpfs_roots)):
                found.append(parent)
    return found


def command(folder, argv, uid, hidden, env, data=None):
    """The bwrap command line that runs ``argv`` (the kernel) sandboxed in ``folder``
    as ``uid``, with the folders ``hidden`` (``hidden_paths``) empty."""
    bwrap, setpriv = shutil.which("bwrap"), shutil.which("setpriv")
    cmd = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
           "--perms", "1777", "--size", str(1024 * 2**20), "--tmpfs", "/tmp",
           "--tmpfs", "/run"]
    for path in hidden:
        cmd += ["--tmpfs", str(path)]
    bound = readonly_paths(data)
    for path in bound:
        cmd += ["--ro-bind", str(path), str(path)]
    cmd += ["--ro-bind", str(folder.connection_file), str(folder.connection_file),
            "--bind", str(folder.sockets), str(folder.sockets),
            "--bind", str(folder.work), str(folder.work),
            "--bind", str(folder.matplotlib), str(folder.matplotlib)]
    for path in traversed([*bound, folder.connection_file, folder.sockets, folder.work,
                           folder.matplotlib], [Path("/tmp"), Path("/run"), *map(Path, hidden)]):
        cmd += ["--chmod", "0711", str(path)]
    cmd += [*UNSHARE, *CAPS, "--clearenv"]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    cmd += ["--chdir", str(folder.work), "--",
            setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
            "--inh-caps=-all", "--bounding-set=-all", "--", *argv]
    return cmd
