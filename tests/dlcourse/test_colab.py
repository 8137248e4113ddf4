"""The Colab badge and set-up cell that start every notebook (dlcourse.colab).

The set-up cell's two branches run in real kernels: in the course environment
it prints nothing; in a fresh virtual environment without the course it installs
the helper package from a student edition (built with a local path as its
address, so pip clones that git repository) and gets MNIST from a ``file://``
URL, with pip forbidden to use the network.
"""

import json
import shutil

import nbformat
import pytest
from nbclient import NotebookClient
from support import paths
from support.grading import ScratchCourse
from support.kernel import LiveKernel
from support.lab import borrowed_environment

from dlcourse import colab, data
from grader import edition

NOTEBOOKS = (sorted(paths.LESSONS.glob("*.ipynb")) + sorted(paths.SOLUTIONS.glob("*/*.ipynb"))
             + sorted(paths.EXERCISES.glob("*/*.ipynb")))


def first_code_cell(path):
    return next(c for c in nbformat.read(path, 4).cells if c.cell_type == "code")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: str(p.relative_to(paths.ROOT)))
def test_notebook_starts_with_the_badge_and_set_up_cells(notebook):
    assert colab.is_current(notebook), (
        f"run: python -m dlcourse.colab insert {notebook.relative_to(paths.ROOT)}"
        + (" (then make exercises)" if "solutions" in notebook.parts else ""))


def test_badges_open_the_published_notebook_in_colab():
    lesson = paths.lesson("01_tensors")
    assert colab.published_path(lesson) == "lessons/01_tensors.ipynb"
    # A graded source notebook's badge opens the student version nbgrader makes of it.
    assert (colab.published_path(paths.solution("05_convolution"))
            == "exercises/05_convolution/05_convolution.ipynb")
    # Colab's address for a notebook on GitHub: /github/OWNER/REPO/blob/BRANCH/PATH.
    repo = colab.REPO_URL.split("github.com/")[1]
    assert colab.colab_url("lessons/01_tensors.ipynb") == (
        f"https://colab.research.google.com/github/{repo}/blob/main/lessons/01_tensors.ipynb")
    badge = nbformat.read(lesson, 4).cells[0].source
    assert colab.colab_url("lessons/01_tensors.ipynb") in badge
    assert f"git+{colab.REPO_URL}" in first_code_cell(lesson).source


def test_the_instructor_readme_holds_no_placeholder_badge():
    readme = (paths.ROOT / "README.md").read_text()
    assert colab.colab_url("lessons/01_tensors.ipynb") not in readme, (
        "README links students to the placeholder address: badges live in the edition")


def test_cells_for_another_address():
    url = "https://github.com/acme/course"
    assert colab.colab_url("lessons/01_tensors.ipynb", url) == (
        "https://colab.research.google.com/github/acme/course/blob/main/lessons/01_tensors.ipynb")
    assert colab.colab_url("lessons/01_tensors.ipynb", url + ".git") == (
        colab.colab_url("lessons/01_tensors.ipynb", url))
    assert '"git+https://github.com/acme/course"' in colab.setup_source(url)
    assert colab.pip_source("/srv/edition") == "git+file:///srv/edition"
    assert not colab.is_github("file:///srv/edition") and colab.is_github(url)
    nb = nbformat.read(paths.lesson("01_tensors"), 4)
    rest = [c.source for c in nb.cells[2:]]
    colab.rewrite(nb, "lessons/01_tensors.ipynb", url)
    assert nb.cells[0].source == colab.badge_cell("lessons/01_tensors.ipynb", url).source
    assert nb.cells[1].source == colab.setup_source(url)
    assert [c.source for c in nb.cells[2:]] == rest
    nb.cells = nb.cells[1:]
    with pytest.raises(ValueError, match="does not start with the badge"):
        colab.rewrite(nb, "lessons/01_tensors.ipynb", url)


def test_a_notebook_outside_the_course_is_refused(tmp_path):
    stray = tmp_path / "notes.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), stray)
    with pytest.raises(ValueError, match="pass a notebook under lessons/"):
        colab.insert(stray)


def test_insert_is_idempotent_and_replaces_stale_cells(tmp_path):
    (tmp_path / "solutions" / "01_tensors").mkdir(parents=True)
    copy = tmp_path / "solutions" / "01_tensors" / "01_tensors.ipynb"
    original = nbformat.read(paths.solution("01_tensors"), 4)
    original.cells = [c for c in original.cells if c.get("id") not in (colab.BADGE_ID,
                                                                        colab.SETUP_ID)]
    nbformat.write(original, copy)

    assert colab.insert(copy, root=tmp_path) is True
    once = copy.read_text()
    assert colab.insert(copy, root=tmp_path) is False and copy.read_text() == once
    nb = nbformat.read(copy, 4)
    assert len(nb.cells) == len(original.cells) + 2
    assert [c.source for c in nb.cells[2:]] == [c.source for c in original.cells]
    assert "exercises/01_tensors/01_tensors.ipynb" in nb.cells[0].source
    assert "nbgrader" not in nb.cells[0].metadata and "nbgrader" not in nb.cells[1].metadata

    # An old badge (another repository address) is replaced, not duplicated.
    raw = json.loads(once)
    raw["cells"][0]["source"] = ["[Open](https://colab.research.google.com/github/old/x)"]
    copy.write_text(json.dumps(raw))
    assert not colab.is_current(copy, root=tmp_path)
    assert colab.insert(copy, root=tmp_path) is True
    assert copy.read_text() == once
    assert colab.main(["check", str(paths.lesson("01_tensors"))]) == 0


def test_missing_modules_names_only_what_cannot_be_imported():
    assert colab.missing_modules({"numpy": "numpy>=2", "no_such_module_for_dlcourse": "x>=1"}) \
        == ["x>=1"]
    assert colab.missing_modules() == [], "the course environment lacks what Colab lacks"


@pytest.fixture
def no_mnist(tmp_path, monkeypatch):
    """A home without a Keras cache and no $DLCOURSE_DATA: where Colab starts."""
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.delenv(colab.MNIST_URL_VAR, raising=False)
    assert data.find_mnist() is None
    return tmp_path


@pytest.fixture
def shared_mnist():
    if not paths.SHARED_MNIST.is_file():
        pytest.skip(f"needs the real MNIST at {paths.SHARED_MNIST}")
    return paths.SHARED_MNIST


def test_ensure_mnist_downloads_into_the_keras_cache_once(no_mnist, shared_mnist, capsys):
    target = colab.ensure_mnist(shared_mnist.as_uri())
    assert target == data.keras_cache() and target.read_bytes() == shared_mnist.read_bytes()
    assert "MNIST saved to" in capsys.readouterr().out
    assert colab.ensure_mnist(shared_mnist.as_uri()) is None  # found now: nothing to do
    (x_train, _), (x_test, _) = data.load_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)


def test_ensure_mnist_refuses_a_bad_download(no_mnist):
    broken = no_mnist / "broken.npz"
    broken.write_bytes(b"not a zip file")
    with pytest.raises(data.MnistDataError, match="truncated or corrupt"):
        colab.ensure_mnist(broken.as_uri())
    with pytest.raises(data.MnistDataError, match="Downloading MNIST from .* failed"):
        colab.ensure_mnist((no_mnist / "missing.npz").as_uri())
    assert not any(data.keras_cache().parent.glob("*")), "a bad download was left behind"


@pytest.mark.slow
def test_set_up_cell_is_silent_in_the_course_environment():
    kernel = LiveKernel(cwd=paths.LESSONS)
    try:
        result = kernel.run(first_code_cell(paths.lesson("01_tensors")).source)
        leftover = kernel.run("print(sorted(n for n in ('source', 'subprocess') "
                              "if n in globals()))")
    finally:
        kernel.close()
    assert (result.error, result.stdout, result.stderr, result.outputs) == (None, "", "", [])
    assert leftover.stdout.strip() == "[]", "the cell took the install branch"


def fresh_environment(tmp_path):
    """A virtual environment with everything the course needs except the course itself
    (``import dlcourse`` fails, as in Colab), and a kernel spec that runs it."""
    python, site = borrowed_environment(tmp_path / "venv")
    kernels = tmp_path / "jupyter" / "kernels" / "fresh-venv"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "fresh venv", "language": "python"}))
    return python, site


@pytest.mark.slow
def test_set_up_cell_installs_the_course_and_mnist_where_they_are_missing(
        no_mnist, shared_mnist, monkeypatch):
    tmp_path = no_mnist
    python, site = fresh_environment(tmp_path)
    # The student edition, its address a local folder: pip clones that git repository.
    published = tmp_path / "edition"
    edition.build(paths.ROOT, published, str(published))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.delenv(colab.SOURCE_VAR, raising=False)
    monkeypatch.setenv(colab.MNIST_URL_VAR, shared_mnist.as_uri())
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # no network: a download attempt fails the test
    monkeypatch.setenv("PIP_NO_BUILD_ISOLATION", "0")  # (pip's spelling of "no isolation")
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    monkeypatch.delenv("PYTHONPATH", raising=False)

    setup = first_code_cell(published / "lessons" / "01_tensors.ipynb").source
    assert f'"git+{published.as_uri()}"' in setup
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in (
        "import importlib.util\nprint('before:', importlib.util.find_spec('dlcourse'))",
        setup,
        "import dlcourse, dlcourse.colab, dlcourse.data\nprint('from:', dlcourse.__file__)\n"
        "print('edition:', dlcourse.colab.REPO_URL)\n"
        "(x, y), _ = dlcourse.data.load_mnist()\nprint('mnist:', x.shape, y.shape)",
        setup)])
    work = tmp_path / "work"
    work.mkdir()
    NotebookClient(nb, timeout=300, kernel_name="fresh-venv",
                   resources={"metadata": {"path": str(work)}}).execute()

    def stdout(i):
        return "".join(o.get("text", "") for o in nb.cells[i].outputs if o.get("name") == "stdout")

    assert stdout(0).strip() == "before: None", "the fresh environment already has dlcourse"
    assert f"Downloading MNIST from {shared_mnist.as_uri()}" in stdout(1)
    assert f"MNIST saved to {data.keras_cache()}" in stdout(1)
    assert f"from: {site}/dlcourse/__init__.py" in stdout(2)
    assert f"edition: {published}\n" in stdout(2), "pip installed another dlcourse"
    assert "mnist: (60000, 28, 28) (60000,)" in stdout(2)
    assert data.keras_cache().read_bytes() == shared_mnist.read_bytes()
    assert nb.cells[3].outputs == [], "a second run must find everything and do nothing"


@pytest.mark.slow
def test_nbgrader_keeps_the_cells_plain_in_the_exercise(tmp_path):
    source = tmp_path / "solutions"
    shutil.copytree(paths.SOLUTIONS / "01_tensors", source / "01_tensors")
    colab.insert(source / "01_tensors" / "01_tensors.ipynb", root=tmp_path)
    course = ScratchCourse(tmp_path / "course", ["01_tensors"], source=source)
    exercise = course.exercise("01_tensors")
    assert colab.is_current(exercise, root=course.root)
    for cell in nbformat.read(exercise, 4).cells[:2]:
        assert cell.metadata == {}, "nbgrader treats the cells as its own"
