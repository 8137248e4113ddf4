"""A course version, as a grading worker must match it: packages, code, solutions, data.

``fingerprint(solutions)`` describes the course whose source folder is
``solutions`` as this machine would grade it: the Python version, the
version of every package the course depends on (``dlcourse``'s requirements
and theirs), a hash of the grader's and ``dlcourse``'s code, a hash of
``solutions/`` and a hash of the MNIST file ``DLCOURSE_DATA`` names.
``differences`` says, in words, how a worker's fingerprint differs from the
owner's; a worker with any difference grades nothing (``grader.grading.remote``).
"""

import hashlib
import os
import platform
import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

import dlcourse
import grader

# Where a Dask worker finds its copy of the course: this variable, else the folder
# `dask worker` was started in.
COURSE_ROOT_VAR = "GRADER_COURSE_ROOT"
SKIPPED = {"__pycache__", ".ipynb_checkpoints"}


def worker_course_root():
    """The course folder of this worker process (``$GRADER_COURSE_ROOT`` or the cwd)."""
    return Path(os.environ.get(COURSE_ROOT_VAR) or os.getcwd()).resolve()


def packages(top="dlcourse"):
    """{distribution: version} of ``top`` and everything it requires, transitively
    (extras left out)."""
    found, todo = {}, [top]
    while todo:
        name = _canonical(todo.pop())
        if name in found:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
            continue
        found[name] = dist.version
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return dict(sorted(found.items()))


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def tree_hash(folder, suffixes=None):
    """SHA-256 of every file's relative path and bytes under ``folder`` (links not
    followed), or None when there is no such folder."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED)
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if suffixes and path.suffix not in suffixes or path.is_symlink():
                continue
            digest.update(str(path.relative_to(folder)).encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


def data_file():
    """The MNIST file ``$DLCOURSE_DATA`` names (a file, or a folder holding mnist.npz)."""
    value = os.environ.get("DLCOURSE_DATA")
    if not value:
        return None
    path = Path(value)
    return path / "mnist.npz" if path.is_dir() else path


def file_hash(path):
    if path is None or not path.is_file():
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def course_solutions(course_root):
    """The source folder (``solutions/``) of the course at ``course_root``, or a
    sentence saying why there is none."""
    from grader.course import load_config

    root = Path(course_root)
    try:
        config = load_config(root)
    except FileNotFoundError:
        return (f"missing ({root} has no nbgrader_config.py: start `dask worker` in the "
                f"course folder, or set {COURSE_ROOT_VAR})")
    return root / config.CourseDirectory.get("source_directory", "source")


def fingerprint(solutions):
    """What grading on this machine depends on, for a course whose source folder is
    ``solutions`` (a path, or the sentence ``course_solutions`` gave)."""
    if isinstance(solutions, Path):
        solutions = tree_hash(solutions) or f"missing ({solutions} does not exist)"
    return {
        "python": platform.python_version(),
        "packages": packages(),
        "grader code": tree_hash(Path(grader.__file__).parent, {".py"}),
        "dlcourse code": tree_hash(Path(dlcourse.__file__).parent, {".py"}),
        "solutions": solutions,
        "data": file_hash(data_file()),
    }


def _short(value):
    if value is None:
        return "none"
    return value[:12] if re.fullmatch(r"[0-9a-f]{64}", str(value)) else str(value)


def differences(owner, worker):
    """How ``worker``'s fingerprint differs from the ``owner``'s, one phrase each
    ("tensorflow-cpu 2.21.0 here, 2.21.1 on the worker"); [] when they agree.
    The data is compared only when the owner has a data file."""
    out = []
    if owner["python"] != worker["python"]:
        out.append(f"Python {owner['python']} here, {worker['python']} on the worker")
    ours, theirs = owner["packages"], worker["packages"]
    for name in sorted(ours.keys() | theirs.keys()):
        if ours.get(name) != theirs.get(name):
            out.append(f"{name} {ours.get(name, 'not installed')} here, "
                       f"{theirs.get(name, 'not installed')} on the worker")
    for key, what in (("grader code", "the grader's code (grader/)"),
                      ("dlcourse code", "dlcourse's code"),
                      ("solutions", "solutions/")):
        if owner[key] != worker[key]:
            out.append(f"{what} differs: hash {_short(owner[key])} here, "
                       f"{_short(worker[key])} on the worker")
    if owner["data"] is not None and owner["data"] != worker["data"]:
        out.append(f"the data file (DLCOURSE_DATA) differs: sha256 {_short(owner['data'])} "
                   f"here, {_short(worker['data'])} on the worker (set DLCOURSE_DATA to the "
                   "course's mnist.npz before `dask worker`)")
    return out
