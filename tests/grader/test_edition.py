"""The student edition (``make edition``, ``python -m grader edition``): what students clone.

The edition is built once per module, with ``make edition`` as README tells the
instructor. The oracle for "no answers in it" is the solution notebooks themselves:
every line (20+ characters, whitespace normalised) of every solution region and
every hidden-test region, searched for in every file of the edition. The slow tests
run the edition's own ``make lab`` and ``make check`` in it, with a virtual
environment that borrows this one's packages (``pip install`` resolves them
offline, as after a real install).
"""

import json
import os
import re
import secrets
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import nbformat
import pytest
from support import paths
from support.lab import borrowed_environment, free_port, stop_group, wait_for_server

from dlcourse import validate as v
from grader import edition

URL = "https://github.com/acme-university/tensors-to-lenet"
COLAB = "https://colab.research.google.com/github/acme-university/tensors-to-lenet/blob/main/"
UNIT = "01_tensors"  # the quickest exercise to run
REGION = re.compile(r"^\s*### BEGIN (SOLUTION|HIDDEN TESTS)\b.*?^\s*### END \1\b",
                    re.MULTILINE | re.DOTALL)
MARKER = re.compile(r"^\s*### (BEGIN|END) (SOLUTION|HIDDEN TESTS)")
SHORTEST = 20  # shorter lines (`return x`, `pass`) are not an answer on their own


def normalised(text):
    return " ".join(text.split())


def _lines(text):
    return {normalised(line) for line in text.splitlines()
            if len(normalised(line)) >= SHORTEST and not MARKER.match(line)}


def secret_lines(course):
    """Every line of every solution and hidden-test region of the graded notebooks of
    ``course``, whitespace normalised, of 20 characters or more."""
    lines = set()
    for path in (course / "solutions").rglob("*.ipynb"):
        for cell in nbformat.read(path, 4).cells:
            for region in REGION.finditer(cell.source):
                lines |= _lines(region.group(0))
    return lines


def public_lines(course):
    """The lines the instructor publishes on purpose: the lessons, the helper package
    and the graded notebooks outside their regions (instructions, visible tests).
    A generic line (``with tf.GradientTape() as tape:``) that a lesson shows is no leak."""
    lines = set()
    for path in (course / "lessons").glob("*.ipynb"):
        for cell in nbformat.read(path, 4).cells:
            lines |= _lines(cell.source)
    for path in (course / "dlcourse").rglob("*.py"):
        lines |= _lines(path.read_text())
    for path in (course / "solutions").rglob("*.ipynb"):
        for cell in nbformat.read(path, 4).cells:
            lines |= _lines(REGION.sub("", cell.source))
    return lines


def file_lines(folder):
    """(path, its lines normalised) for every file under ``folder`` but .git; a notebook
    is read as its cells' sources and outputs (its JSON escapes would hide a line)."""
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or ".git" in path.relative_to(folder).parts:
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".ipynb":
            parts = []
            for cell in json.loads(text)["cells"]:
                parts.append("".join(cell["source"]))
                for output in cell.get("outputs", []):
                    parts.append(json.dumps(output, indent=1))
                    parts += ["".join(t) if isinstance(t, list) else str(t)
                              for t in (output.get("text", ""),
                                        *output.get("data", {}).values())]
            text = "\n".join(parts)
        yield path, {normalised(line) for line in text.splitlines()}


def leaks(folder, secret):
    """(file, line) for every secret line that is a line of a file under ``folder``."""
    return sorted((str(path.relative_to(folder)), line)
                  for path, lines in file_lines(folder) for line in lines & secret)


def snapshot(folder):
    """A copy of what an edition is built from, and of the solutions (the oracle): the
    course may change under a live checkout while the tests run."""
    for name in ("lessons", "exercises", "solutions", "dlcourse"):
        shutil.copytree(paths.ROOT / name, folder / name,
                        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    for name in ("LICENSE", "pyproject.toml"):
        shutil.copy(paths.ROOT / name, folder / name)
    return folder


def build_with_make(folder, url=URL):
    done = subprocess.run(["make", "--no-print-directory", "edition", f"DIR={folder}",
                           f"URL={url}"], cwd=paths.ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return snapshot(tmp_path_factory.mktemp("course") / "course")


@pytest.fixture(scope="module")
def built(course, tmp_path_factory):
    folder = tmp_path_factory.mktemp("student") / "tensors-to-lenet"
    assert edition.build(course, folder, URL).commit
    return folder


def git(folder, *args):
    return subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True,
                          text=True).stdout


def notebooks(folder):
    return sorted(folder.glob("lessons/*.ipynb")) + sorted(folder.glob("exercises/*/*.ipynb"))


def test_make_edition_builds_the_course_s_edition(tmp_path):
    folder = tmp_path / "tensors-to-lenet"
    done = build_with_make(folder)
    assert "committed" in done.stdout and (folder / ".git").is_dir()
    assert {p.name for p in (folder / "lessons").glob("*.ipynb")} == {
        p.name for p in paths.LESSONS.glob("*.ipynb")}


def test_the_edition_holds_only_what_students_need(course, built):
    top = {p.name for p in built.iterdir()}
    assert top == {".git", ".gitignore", ".jupyter", "LICENSE", "Makefile", "README.md", "dlcourse",
                   "environment.yml", "exercises", "lessons", "nbgrader_config.py",
                   "pyproject.toml"}
    lessons = {p.name for p in (course / "lessons").glob("*.ipynb")}
    assert {p.name for p in (built / "lessons").glob("*.ipynb")} == lessons
    units = {p.parent.name for p in (course / "exercises").glob("*/*.ipynb")}
    assert {p.parent.name for p in (built / "exercises").glob("*/*.ipynb")} == units
    files = git(built, "ls-files").split()
    assert not [f for f in files if re.search(r"solution|fixture|gradebook|instructor|grader/"
                                             r"|\.npz$|__pycache__", f)], files
    assert git(built, "status", "--porcelain") == "", "the build left something uncommitted"


def test_no_line_of_a_solution_or_hidden_test_is_in_the_edition(course, built):
    secret = secret_lines(course) - public_lines(course)
    assert len(secret) > 100, "the oracle found (almost) no solution lines"
    # The search finds them where they are: in the instructor's source.
    assert {line for _, line in leaks(course / "solutions", secret)} == secret
    assert leaks(built, secret) == []


def test_every_badge_and_set_up_cell_carries_the_url(built):
    for path in notebooks(built):
        rel = path.relative_to(built).as_posix()
        badge, setup = nbformat.read(path, 4).cells[:2]
        assert f"]({COLAB}{rel})" in badge.source, rel
        assert f'"git+{URL}"' in setup.source, rel
    readme = (built / "README.md").read_text()
    for path in notebooks(built):
        assert f"({COLAB}{path.relative_to(built).as_posix()})" in readme
    assert f'REPO_URL = "{URL}"' in (built / "dlcourse" / "colab.py").read_text()
    placeholders = [str(p.relative_to(built)) for p in built.rglob("*") if p.is_file()
                    and ".git" not in p.parts and re.search(r"\bOWNER\b|@[A-Z_]+@",
                                                            p.read_text(errors="replace"))]
    assert placeholders == []


def test_the_exercises_are_nbgrader_s_release_with_checksums_intact(built):
    for path in sorted((built / "exercises").glob("*/*.ipynb")):
        cells = [c for c in nbformat.read(path, 4).cells if "checksum" in
                 c.metadata.get("nbgrader", {})]
        assert cells and all(v.checksum(c) == c.metadata.nbgrader["checksum"] for c in cells)
        assert not v.worked_on(path)


def test_building_again_changes_only_what_changed(tmp_path):
    course = snapshot(tmp_path / "course")
    shutil.rmtree(course / "solutions")
    first = edition.build(course, tmp_path / "edition", URL)
    assert first.commit and first.changed == first.files
    again = edition.build(course, tmp_path / "edition", URL)
    assert again.commit is None and again.changed == []

    # One lesson changed and one unit gone: one commit with just that (and README's list).
    lesson = sorted((course / "lessons").glob("*.ipynb"))[0]
    nb = nbformat.read(lesson, 4)
    nb.cells.append(nbformat.v4.new_markdown_cell("A new closing remark.", id="new-remark"))
    nbformat.write(nb, lesson)
    gone = sorted((course / "exercises").iterdir())[-1]
    shutil.rmtree(gone)
    (course / "lessons" / f"{gone.name}.ipynb").unlink()
    clone = tmp_path / "clone"  # the instructor's edition, cloned from where it was pushed
    subprocess.run(["git", "clone", "--quiet", str(tmp_path / "edition"), str(clone)],
                   check=True)
    result = edition.build(course, clone, URL)
    changed = git(clone, "diff", "--name-status", "HEAD~1", "HEAD").split("\n")
    assert sorted(filter(None, changed)) == sorted([
        f"M\tlessons/{lesson.name}", f"D\tlessons/{gone.name}.ipynb",
        f"D\texercises/{gone.name}/{gone.name}.ipynb", "M\tREADME.md"]), changed
    assert result.commit == git(clone, "rev-parse", "HEAD").strip()


def test_no_url_or_a_placeholder_is_refused(tmp_path):
    done = subprocess.run(["make", "--no-print-directory", "edition", f"DIR={tmp_path / 'e'}"],
                          cwd=paths.ROOT, capture_output=True, text=True)
    assert done.returncode != 0 and "usage: make edition" in done.stdout
    with pytest.raises(ValueError, match="placeholder OWNER"):
        edition.build(paths.ROOT, tmp_path / "e", "https://github.com/OWNER/tensors-to-lenet")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="neither empty nor an edition"):
        edition.build(paths.ROOT, tmp_path / "busy", URL)
    assert not (tmp_path / "e").exists()


# --- the edition's own commands, run in it -----------------------------------------------

OFFLINE_PIP = {"PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0",
               "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def student_env(home):
    env = {k: val for k, val in os.environ.items() if k not in ("PYTHONPATH", "MPLBACKEND")}
    env.update(OFFLINE_PIP, HOME=str(home), JUPYTER_RUNTIME_DIR=str(home / "runtime"))
    return env


@pytest.fixture(scope="module")
def student(built, tmp_path_factory):
    """The edition cloned as a student does, with its environment set up (not yet
    installed: its first ``make`` installs the course, as README says)."""
    home = tmp_path_factory.mktemp("student-home")
    clone = home / "tensors-to-lenet"
    subprocess.run(["git", "clone", "--quiet", str(built), str(clone)], check=True)
    borrowed_environment(clone / ".venv", jupyter=True)
    return clone, student_env(home)


@pytest.fixture(scope="module")
def lab(student):
    clone, env = student
    port, token = free_port(), secrets.token_hex(16)
    log = open(clone.parent / "lab.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"PORT={port}",
         f"LAB_ARGS=--no-browser --IdentityProvider.token={token} --ServerApp.ip=127.0.0.1"],
        cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_server(base, token, proc, timeout=300)  # the first run installs
        except (RuntimeError, TimeoutError) as exc:
            log.flush()
            pytest.fail(f"{exc}: {(clone.parent / 'lab.log').read_text()[-4000:]}")
        yield base, token, clone
    finally:
        stop_group(proc)
        log.close()


def call(url, token, data=None):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body,
                                     headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=600) as reply:
        return reply.status, reply.read().decode(), reply.url


pytestmark = pytest.mark.xdist_group("student-edition")


@pytest.mark.slow
def test_make_lab_serves_the_lessons_and_exercises(lab):
    base, token, clone = lab
    _, _, landing = call(f"{base}/", token)
    assert landing.endswith("/lab/tree/lessons")
    for folder, pattern in (("lessons", "*.ipynb"), ("exercises", "*")):
        _, body, _ = call(f"{base}/api/contents/{folder}", token)
        served = {item["name"] for item in json.loads(body)["content"]}
        assert {p.name for p in (clone / folder).glob(pattern)} <= served
    with pytest.raises(urllib.error.HTTPError) as err:
        call(f"{base}/api/contents/solutions", token)
    assert err.value.code == 404
    # Validate is there; nbgrader's instructor tools are not.
    _, page, _ = call(f"{base}/lab", token)
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">'
                                  r'(.*?)</script>', page, re.S).group(1))
    assert "@jupyter/nbgrader" in {e["name"] for e in config["federated_extensions"]}
    disabled = set(config.get("disabledExtensions", []))
    assert {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"} <= disabled
    assert not any("validate" in name for name in disabled)
    with pytest.raises(urllib.error.HTTPError) as err:
        call(f"{base}/formgrader", token)
    assert err.value.code == 404
    # `make lab` installed the edition's helper package: its kernels import that one.
    where = subprocess.run([str(clone / ".venv" / "bin" / "python"), "-c",
                            "import dlcourse; print(dlcourse.__file__)"],
                           cwd=clone.parent, env=student_env(clone.parent), capture_output=True,
                           text=True, check=True).stdout.strip()
    assert where == str(clone / "dlcourse" / "__init__.py")


@pytest.mark.slow
def test_validate_of_a_blank_exercise_lists_the_failing_cells(lab):
    base, token, clone = lab
    exercise = f"exercises/{UNIT}/{UNIT}.ipynb"
    _, body, _ = call(f"{base}/assignments/validate", token, {"path": exercise})
    reply = json.loads(body)
    assert reply["success"] is True, reply
    failed = reply["value"]["failed"]
    tests = {c.source for c in nbformat.read(clone / exercise, 4).cells
             if v.is_grade(c) and not v.is_solution(c)}
    assert failed and {f["source"] for f in failed} <= tests
    assert any("NotImplementedError" in f["error"] for f in failed)


def solved(path):
    """The edition's exercise with each answer cell taken from the instructor's solution."""
    answers = {c.metadata.nbgrader["grade_id"]: c.source
               for c in nbformat.read(paths.solution(UNIT), 4).cells if v.is_solution(c)}
    nb = nbformat.read(path, 4)
    for cell in nb.cells:
        if v.is_solution(cell):
            cell.source = answers[cell.metadata.nbgrader["grade_id"]]
    return nb


@pytest.mark.slow
def test_make_check_passes_a_solved_exercise(student, lab):
    clone, env = student
    check = ["make", "--no-print-directory", "check"]
    done = subprocess.run(check, cwd=clone, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "No exercise under exercises" in done.stdout, done.stdout
    exercise = clone / "exercises" / UNIT / f"{UNIT}.ipynb"
    nbformat.write(solved(exercise), exercise)
    done = subprocess.run(check, cwd=clone, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"### exercises/{UNIT}/{UNIT}.ipynb" in done.stdout
    assert v.SUCCESS in done.stdout


@pytest.mark.slow
def test_make_lab_without_data_or_network_says_how_to_point_at_a_file(student, lab):
    clone, env = student
    env = {k: val for k, val in env.items() if k != "DLCOURSE_DATA"}
    env["HOME"] = str(clone.parent / "empty-home")
    done = offline(["make", "--no-print-directory", "lab"], clone, env)
    ours = [line for line in done.stderr.splitlines() if not line.startswith("make")]
    assert done.returncode != 0 and len(ours) == 1, done.stdout + done.stderr
    assert "export DLCOURSE_DATA=/path/to/mnist.npz" in ours[0]
    assert "jupyterlab" not in done.stdout, "JupyterLab started without the data"


def offline(command, cwd, env):
    """Run ``command`` without a network (a network namespace of its own)."""
    unshare = ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "-rn"]
    probe = subprocess.run([*unshare, "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a network namespace here: {probe.stderr.decode()}")
    return subprocess.run([*unshare, *command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)



def test_make_check_names_one_unit_or_every_started_exercise(built):
    def dry(*args):
        done = subprocess.run(["make", "--dry-run", "--no-print-directory", "check", *args],
                              cwd=built, capture_output=True, text=True, timeout=60)
        return done.stdout.splitlines()[-1]

    assert dry("UNIT=02_graphs") == (
        ".venv/bin/python -m dlcourse.validate exercises/02_graphs/02_graphs.ipynb")
    assert dry("NOTEBOOK=mine.ipynb").endswith("dlcourse.validate mine.ipynb")
    assert dry() == ".venv/bin/python -m dlcourse.validate --worked-on exercises"
