"""Run the course outside its environment: Google Colab badges and the first cell.

Every lesson and exercise starts with two cells that this module writes:

1. a badge that opens the notebook in Google Colab (``colab_url``);
2. a set-up cell: where the course's helper package is missing (Colab), it installs
   it with pip and then calls :func:`ensure_environment`, which installs the few
   modules Colab lacks and downloads MNIST into the Keras cache. In the course
   environment it finds everything in place and does nothing, silently.

Students get the course from its student edition (``python -m grader edition DIR
--url URL``), which writes every badge and set-up cell for its own address
(``rewrite``) and sets ``REPO_URL`` in its copy of this module. In the
instructor's repository ``REPO_URL`` stays a placeholder that never reaches a
student. After changing the cells' text, rewrite the notebooks with::

    python -m dlcourse.colab insert lessons/*.ipynb solutions/*/*.ipynb

Two environment variables make the set-up cell work without the network:
``DLCOURSE_SOURCE`` (what pip installs instead of ``git+REPO_URL``, e.g. a local
checkout) and ``DLCOURSE_MNIST_URL`` (where MNIST is downloaded from, e.g. a
``file://`` URL).
"""

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

# The student edition's address; a placeholder here, replaced in every edition built.
REPO_URL = "https://github.com/OWNER/tensors-to-lenet"
BRANCH = "main"
SOURCE_VAR = "DLCOURSE_SOURCE"
MNIST_URL_VAR = "DLCOURSE_MNIST_URL"
# Where Keras itself downloads MNIST from (keras.datasets.mnist.load_data).
MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
# Modules the notebooks import that Colab does not ship (module -> pip requirement).
# TensorFlow is deliberately absent: Colab's own build must not be replaced.
COLAB_MISSING = {"ipycanvas": "ipycanvas>=0.14", "nbclient": "nbclient>=0.10",
                 "nbformat": "nbformat>=5.10"}
BADGE_ID, SETUP_ID = "colab-badge", "colab-setup"
DOWNLOAD_TIMEOUT = 60  # seconds without a byte before a download counts as failed
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"


GITHUB = "https://github.com/"


def is_github(repo_url):
    """True when Colab can open the notebooks of ``repo_url`` (it opens them from GitHub)."""
    return repo_url.startswith(GITHUB) and repo_url.removeprefix(GITHUB).strip("/").count("/") == 1


def colab_url(path, repo_url=None):
    """The Colab address that opens ``path`` (relative to the repository root) of the
    repository at ``repo_url`` (default ``REPO_URL``).

    Colab opens notebooks from GitHub only; for another address (a local path, a file://
    or other git URL, as in the tests) the badge links to the notebook at that address.
    """
    repo_url = (repo_url or REPO_URL).rstrip("/")
    path = Path(path).as_posix()
    if is_github(repo_url):
        repo = repo_url.removeprefix(GITHUB).removesuffix(".git")
        return f"https://colab.research.google.com/github/{repo}/blob/{BRANCH}/{path}"
    return f"{repo_url}/{path}"


def pip_source(repo_url=None):
    """What the set-up cell gives pip for the repository at ``repo_url``: ``git+URL``
    (a local folder becomes its file:// URL)."""
    repo_url = repo_url or REPO_URL
    if "://" not in repo_url:
        repo_url = Path(repo_url).resolve().as_uri()
    return f"git+{repo_url}"


def published_path(notebook, root=None):
    """The notebook students open for ``notebook``, relative to the repository root.

    A lesson or exercise is itself; a graded source ``solutions/NN/NN.ipynb``
    becomes the exercise nbgrader generates from it, ``exercises/NN/NN.ipynb``.
    """
    notebook = Path(notebook).resolve()
    root = Path(root).resolve() if root else Path(__file__).resolve().parent.parent
    try:
        parts = notebook.relative_to(root).parts
    except ValueError:
        raise ValueError(f"{notebook} is not inside the course repository {root}: "
                         "pass a notebook under lessons/, solutions/ or exercises/") from None
    if parts[0] not in ("lessons", "solutions", "exercises"):
        raise ValueError(f"{notebook} is not a course notebook: pass one under lessons/, "
                         "solutions/ or exercises/")
    if parts[0] == "solutions":
        parts = ("exercises", *parts[1:])
    return Path(*parts).as_posix()


def badge_markdown(path, repo_url=None):
    """The Markdown of an "Open in Colab" badge for ``path``."""
    return f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(path, repo_url)})"


def badge_cell(path, repo_url=None):
    """The notebook's first cell: the Colab badge and one sentence on the next cell."""
    text = (f"{badge_markdown(path, repo_url)}\n\n"
            "In Google Colab, run the next cell first: it installs the course's helper "
            "package and MNIST. In the course's own environment it does nothing.")
    import nbformat

    return nbformat.v4.new_markdown_cell(text, id=BADGE_ID)


SETUP_TEMPLATE = '''\
# Colab (or any Python without the course): install the helper package and MNIST.
# In the course environment this cell does nothing.
try:
    import dlcourse
except ImportError:
    import os, subprocess, sys
    source = os.environ.get("{source_var}", "{pip_source}")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", source],
                   check=True)
import dlcourse.colab
dlcourse.colab.ensure_environment()'''



def setup_source(repo_url=None):
    """The set-up cell's code for the repository at ``repo_url`` (default ``REPO_URL``)."""
    return SETUP_TEMPLATE.format(source_var=SOURCE_VAR, pip_source=pip_source(repo_url))


SETUP_SOURCE = setup_source()


def setup_cell(repo_url=None):
    """The notebook's second cell: installs what is missing, else does nothing."""
    import nbformat

    return nbformat.v4.new_code_cell(setup_source(repo_url), id=SETUP_ID)


def missing_modules(modules=COLAB_MISSING):
    """The pip requirements of those ``modules`` that this Python cannot import."""
    return [req for name, req in modules.items() if importlib.util.find_spec(name) is None]


def ensure_mnist(url=None):
    """Make sure ``load_mnist()`` finds MNIST; download it into the Keras cache if not.

    Does nothing when ``$DLCOURSE_DATA`` or the Keras cache already holds it.
    Otherwise downloads from ``url`` (default ``$DLCOURSE_MNIST_URL``, else
    Keras' own address), checks it as ``load_mnist`` does, and returns the
    cached path. A bad ``$DLCOURSE_DATA`` raises ``MnistDataError`` with the fix.
    """
    from dlcourse import data

    if data.find_mnist() is not None:
        return None
    url = url or os.environ.get(MNIST_URL_VAR) or MNIST_URL
    target = data.keras_cache()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    print(f"Downloading MNIST from {url} ...", flush=True)
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as reply, \
                open(partial, "wb") as out:
            shutil.copyfileobj(reply, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise data.MnistDataError(f"Downloading MNIST from {url} failed ({exc}). "
                                  f"{data.FIX}") from exc
    try:
        data.read_mnist(partial)  # keys, shapes, dtypes, labels: the loader's own checks
    except data.MnistDataError:
        partial.unlink()
        raise
    partial.replace(target)
    print(f"MNIST saved to {target}")
    return target


def ensure_environment():
    """What the set-up cell calls: install missing modules, enable widgets, get MNIST.

    Silent and fast where everything is in place (the course environment).
    """
    missing = missing_modules()
    if missing:
        print("Installing", ", ".join(missing), "...", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *missing],
                       check=True)
    if importlib.util.find_spec("google") and importlib.util.find_spec("google.colab"):
        from google.colab import output  # Colab shows ipywidgets/ipycanvas only with this

        output.enable_custom_widget_manager()
    ensure_mnist()


def _is_ours(cell, cell_id):
    return cell.get("id") == cell_id


def insert(path, root=None):
    """Put the badge and set-up cells first in the notebook at ``path``; True if it changed.

    Idempotent: cells written earlier (found by their ids) are replaced, so running
    it again after ``REPO_URL`` changes updates them.
    """
    import nbformat

    path = Path(path)
    text = path.read_text()
    nb = nbformat.reads(text, as_version=4)
    nb.cells = [c for c in nb.cells if not (_is_ours(c, BADGE_ID) or _is_ours(c, SETUP_ID))]
    nb.cells[:0] = [badge_cell(published_path(path, root)), setup_cell()]
    new = nbformat.writes(nb) + "\n"
    if new != text:
        path.write_text(new)
        return True
    return False


def is_current(path, root=None):
    """True when the notebook's first two cells are exactly what :func:`insert` writes."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    want = [badge_cell(published_path(path, root)), setup_cell()]
    have = nb.cells[:2]
    return len(have) == 2 and all(
        (h.cell_type, h.get("id"), h.source, dict(h.metadata)) ==
        (w.cell_type, w.id, w.source, dict(w.metadata)) for h, w in zip(have, want, strict=True))


def rewrite(nb, path, repo_url):
    """Point the badge and set-up cells of ``nb`` (an nbformat node published at ``path``,
    relative to the repository root) at the repository ``repo_url``, in place.

    Only their text changes (ids and metadata stay), so nbgrader's checksums still hold.
    Raises ValueError if ``nb`` lacks either cell.
    """
    want = {BADGE_ID: badge_cell(path, repo_url), SETUP_ID: setup_cell(repo_url)}
    found = set()
    for cell in nb.cells[:2]:
        if cell.get("id") in want:
            cell.source = want[cell.id].source
            found.add(cell.id)
    if found != set(want):
        raise ValueError(f"{path} does not start with the badge and set-up cells: run "
                         f"python -m dlcourse.colab insert on its source first")
    return nb


def badge_table(root=None, repo_url=None):
    """A Markdown table: one row per unit, badges for its lesson and exercise."""
    root = Path(root) if root else Path(__file__).resolve().parent.parent
    rows = ["| unit | lesson | exercise |", "|---|---|---|"]
    for lesson in sorted((root / "lessons").glob("*.ipynb")):
        unit = lesson.stem
        exercise = f"exercises/{unit}/{unit}.ipynb"
        rows.append(f"| `{unit}` | {badge_markdown(f'lessons/{lesson.name}', repo_url)} | "
                    f"{badge_markdown(exercise, repo_url)} |")
    return "\n".join(rows)


NO_MNIST = ("{reason} Point the course at a local copy: export DLCOURSE_DATA=/path/to/mnist.npz "
            "(the file or its folder; `python -m dlcourse.data fetch --dest DIR` makes one "
            "while online), then start again.")


def check_mnist():
    """``python -m dlcourse.colab mnist``: find MNIST or download it; on failure print one
    line that says how to point the course at a local file, and return 1."""
    from dlcourse import data

    try:
        ensure_mnist()
    except data.MnistDataError as exc:
        reason = str(exc).split(" Fix:")[0]
        print(NO_MNIST.format(reason=reason), file=sys.stderr)
        return 1
    return 0


def main(argv=None):
    """``python -m dlcourse.colab insert|check NOTEBOOK ...``, ``badges`` or ``mnist``."""
    parser = argparse.ArgumentParser(prog="python -m dlcourse.colab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("insert", "write the badge and set-up cells first (idempotent)"),
                       ("check", "exit 1 naming every notebook whose first cells are stale")):
        sub.add_parser(name, help=text).add_argument("notebooks", nargs="+", type=Path)
    sub.add_parser("badges", help="print a Markdown table of Colab badges").add_argument(
        "--url", help="the repository's address (default: REPO_URL)")
    sub.add_parser("mnist", help="find MNIST or download it into the Keras cache; exit 1 "
                                 "with one line saying what to do where neither works")
    args = parser.parse_args(argv)
    if args.command == "badges":
        print(badge_table(repo_url=args.url))
        return 0
    if args.command == "mnist":
        return check_mnist()
    try:
        if args.command == "insert":
            for nb in args.notebooks:
                print(f"{nb}: {'updated' if insert(nb) else 'already up to date'}")
            return 0
        stale = [nb for nb in args.notebooks if not is_current(nb)]
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for nb in stale:
        print(f"{nb}: first cells are stale; run python -m dlcourse.colab insert {nb}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
