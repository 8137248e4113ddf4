"""The student edition: the repository students clone, built from the instructor's course.

``python -m grader edition DIR --url URL`` writes into ``DIR`` what a student needs and
nothing of the instructor's: the lessons, the exercises (nbgrader's release, no
solutions, no hidden tests), the helper package ``dlcourse``, an environment file, and
the student README and Makefile from ``templates/`` (``make lab``, ``make check``).
Every Colab badge and set-up cell is rewritten for ``URL``, the edition's public
address. ``DIR`` is a git repository (created on the first build); each build
commits what changed, so the history shows one diff per change of the course.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from dlcourse import colab
from grader.workshop.layout import PARTICIPANT_LAB, PARTICIPANT_SERVER

TEMPLATES = Path(__file__).resolve().parent / "templates"
# What the edition holds of the course (folders copied with these files left out).
FOLDERS = ("lessons", "exercises", "dlcourse")
SKIP = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc", "*.egg-info",
                              "logs", "*.npz", "*.keras")
# The instructor's packages: grading on a cluster and the workshop hub.
INSTRUCTOR_ONLY = {"distributed", "jupyterhub", "jupyterhub-firstuseauthenticator",
                   "jupyterhub-idle-culler"}
# Markers nbgrader removes: a notebook that still holds one is not a release.
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS",
           "### END HIDDEN TESTS")
PLACEHOLDER = "OWNER"
# JupyterLab settings of the edition's `make lab` (JUPYTER_CONFIG_PATH): as on the workshop
# hub, nbgrader's instructor tools (formgrader, create assignment, course list) are off.
JUPYTER_CONFIG = {
    ".jupyter/labconfig/page_config.json": PARTICIPANT_LAB,
    ".jupyter/jupyter_server_config.d/zz-dlcourse-student.json": PARTICIPANT_SERVER,
}
AUTHOR = {"GIT_AUTHOR_NAME": "dlcourse edition", "GIT_AUTHOR_EMAIL": "edition@localhost",
          "GIT_COMMITTER_NAME": "dlcourse edition", "GIT_COMMITTER_EMAIL": "edition@localhost"}


@dataclass
class Built:
    """What a build did.

    Attributes:
        folder: the edition's git repository.
        files: every file of the edition, relative to ``folder``.
        changed: the paths that this build added, changed or removed (empty: none).
        commit: the commit this build made, or None when nothing changed.
    """

    folder: Path
    files: list = field(default_factory=list)
    changed: list = field(default_factory=list)
    commit: str | None = None


def _requirement_name(requirement):
    return re.split(r"[<>=!~ \[;]", requirement, maxsplit=1)[0].lower()


def student_dependencies(root):
    """The course's dependencies (``pyproject.toml``) a student needs, in its order."""
    project = tomllib.loads((Path(root) / "pyproject.toml").read_text())["project"]
    return [r for r in project["dependencies"] if _requirement_name(r) not in INSTRUCTOR_ONLY]


def check_url(url):
    """Refuse an address no student could use: empty, or the repository's placeholder."""
    if not url or not url.strip():
        raise ValueError("--url is required: the address students clone the edition from "
                         "(e.g. https://github.com/YOUR-ORG/tensors-to-lenet)")
    if PLACEHOLDER in url.split("/"):
        raise ValueError(f"--url {url} holds the placeholder {PLACEHOLDER}: give the edition's "
                         "real address")
    return url.rstrip("/")


def _render(name, **values):
    text = (TEMPLATES / name).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    leftover = re.findall(r"@[A-Z_]+@", text)
    if leftover:
        raise RuntimeError(f"template {name}: no value for {', '.join(sorted(set(leftover)))}")
    return text


def _notebook(source, target, published, url):
    nb = nbformat.read(source, as_version=4)
    colab.rewrite(nb, published, url)
    text = nbformat.writes(nb) + "\n"
    for marker in MARKERS:
        if marker in text:
            raise RuntimeError(f"{source} still holds {marker!r}: it is not nbgrader's release; "
                               "regenerate it (make exercises) before building the edition")
    target.write_text(text)


def _colab_module(source, target, url):
    line = f"REPO_URL = {json.dumps(url)}"
    text, n = re.subn(r'^REPO_URL = ".*"$', lambda _: line, source.read_text(), count=1,
                      flags=re.MULTILINE)
    if n != 1:
        raise RuntimeError(f"{source} has no REPO_URL line to set")
    target.write_text(text)


def write_tree(root, out, url):
    """Write the edition's files for ``url`` into the empty folder ``out``."""
    root, out = Path(root), Path(out)
    for folder in FOLDERS:
        shutil.copytree(root / folder, out / folder, ignore=SKIP)
    for nb in sorted((out / "lessons").glob("*.ipynb")) + sorted(
            (out / "exercises").glob("*/*.ipynb")):
        rel = nb.relative_to(out).as_posix()
        _notebook(root / rel, nb, rel, url)
    _colab_module(root / "dlcourse" / "colab.py", out / "dlcourse" / "colab.py", url)
    shutil.copy(root / "LICENSE", out / "LICENSE")
    deps = student_dependencies(root)
    units = sorted(p.stem for p in (out / "lessons").glob("*.ipynb"))
    values = dict(
        URL=url,
        BADGES=colab.badge_table(out, url),
        UNITS=", ".join(f"`{u}`" for u in units),
        FIRST_UNIT=units[0] if units else "01_tensors",
        DEPENDENCIES="\n".join(f'    "{d}",' for d in deps),
        CONDA_DEPENDENCIES="\n".join(f"  - {_conda(d)}" for d in deps),
    )
    for name, settings in JUPYTER_CONFIG.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(json.dumps(settings, indent=1, sort_keys=True) + "\n")
    for name, target in (("README.md", "README.md"), ("Makefile", "Makefile"),
                         ("gitignore", ".gitignore"), ("nbgrader_config.py", "nbgrader_config.py"),
                         ("pyproject.toml.in", "pyproject.toml"),
                         ("environment.yml", "environment.yml")):
        (out / target).write_text(_render(name, **values))


def _conda(requirement):
    # conda-forge's TensorFlow is one package (tensorflow-cpu is pip's name for it).
    return requirement.replace("tensorflow-cpu", "tensorflow", 1)


def _git(folder, *args, env=None):
    return subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}).stdout


def _identity(folder):
    """Commit as the instructor where git knows who they are, else as the edition."""
    have = subprocess.run(["git", "-C", str(folder), "config", "user.email"],
                          capture_output=True, text=True).stdout.strip()
    return {} if have else AUTHOR


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in Path(folder).rglob("*")
                  if p.is_file() and ".git" not in p.relative_to(folder).parts)


def build(root, folder, url):
    """Build (or rebuild) the student edition of the course at ``root`` in ``folder``.

    ``folder`` is empty, missing, or an edition built earlier (a git repository).
    Files the course no longer produces are removed; a build that changes nothing
    makes no commit. Returns a :class:`Built`.
    """
    url = check_url(url)
    root, folder = Path(root).resolve(), Path(folder).resolve()
    if (folder / ".git").exists() is False and folder.exists() and any(folder.iterdir()):
        raise ValueError(f"{folder} is neither empty nor an edition built before (no .git): "
                         "choose an empty folder or the edition's repository")
    if folder.is_relative_to(root):
        raise ValueError(f"{folder} is inside the course {root}: build the edition outside it")
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / ".git").exists():
        _git(folder, "init", "--quiet", "--initial-branch", colab.BRANCH)
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch) / "edition"
        fresh.mkdir()
        write_tree(root, fresh, url)
        new = set(_files(fresh))
        for rel in _git(folder, "ls-files", "-z").split("\0"):
            if rel and rel not in new:
                (folder / rel).unlink(missing_ok=True)
        for rel in sorted(new):
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(fresh / rel, folder / rel)
    _git(folder, "add", "--all", "--", *sorted(new))
    _git(folder, "add", "--update")  # the removals
    changed = [line for line in _git(folder, "diff", "--cached", "--name-only").splitlines()
               if line]
    built = Built(folder, sorted(new), changed)
    if changed:
        source = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip() or "a course"
        _git(folder, "commit", "--quiet", "-m", f"Student edition built from {source}",
             env=_identity(folder))
        built.commit = _git(folder, "rev-parse", "HEAD").strip()
    return built
