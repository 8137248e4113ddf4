"""The Python participants' servers run: the course's own, or one they are allowed to run.

A participant's server runs as their Unix user, so every folder on the way to the
interpreter must be open to them. A course environment made from a Python under a
closed folder (pyenv in ``/root``, as on the test machines) cannot be run by them.
Then the hub makes ``participant-python/`` in the workshop folder: a venv of the
system's Python of the same version (``/usr/bin/python3.X``) that loads the course
environment's packages (a ``.pth`` file adds its site-packages), so nothing is
installed twice.
"""

import os
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path


def closed_folder(path):
    """The first folder on the way to ``path`` that other users cannot enter, or None."""
    path = Path(path)
    for folder in reversed([path.parent, *path.parent.parents]):
        if not os.stat(folder).st_mode & stat.S_IXOTH:
            return folder
    return None


def participant_python(workshop):
    """The bin folder whose ``python`` participants' servers run (made if needed)."""
    own = Path(os.path.realpath(sys.executable))
    if closed_folder(own) is None and closed_folder(workshop.venv_bin / "python") is None:
        return workshop.venv_bin
    site = Path(sysconfig.get_paths()["purelib"])
    if closed_folder(site / "x") is not None:
        raise PermissionError(
            f"participants cannot read the course environment {site}: "
            f"{closed_folder(site / 'x')} is closed to other users. Clone the course "
            "somewhere open (e.g. /srv or /opt) and run `make hub` there")
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = next((Path(d, version) for d in ("/usr/bin", "/usr/local/bin")
                 if Path(d, version).is_file() and closed_folder(Path(d, version)) is None), None)
    if base is None:
        raise PermissionError(
            f"participants cannot run the course's Python ({own} is under "
            f"{closed_folder(own)}, closed to other users) and there is no {version} in "
            f"/usr/bin: install it (apt-get install {version}-venv) or build the course's "
            ".venv from a Python every user can run")
    target = workshop.folder / "participant-python"
    if not (target / "bin" / "python").exists():
        subprocess.run([str(base), "-m", "venv", "--without-pip", str(target)], check=True)
    pth = target / "lib" / version / "site-packages" / "dlcourse-course-environment.pth"
    pth.write_text(f"import site; site.addsitedir({str(site)!r})\n")
    for dirpath, _, filenames in os.walk(target):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            path = Path(dirpath, name)
            if not path.is_symlink():
                os.chmod(path, os.stat(path).st_mode | 0o444)
    return target / "bin"
