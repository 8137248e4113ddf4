"""``python -m grader`` commands on a tiny fixture unit: generate, collect, zeros.

The fixture unit (``fixtures/submissions/unit/00_fixture``) has three graded
tasks and needs nothing but NumPy. Nothing here starts a kernel (the
submissions that reach autograde cannot be graded, which is recorded at
once), but every test runs several nbgrader commands, hence ``slow``.
"""

import os
import pwd
import zipfile

import pytest
from fixtures.submissions import build as b
from fixtures.submissions.cases import RAW
from nbgrader.api import Gradebook
from support.grading import BIN, ScratchCourse, nbgrader
from support.paths import FIXTURES

from grader.grading import gradebook

UNIT = "00_fixture"
UNITS = FIXTURES / "submissions" / "unit"
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("grader-commands")]


@pytest.fixture()
def course(tmp_path):
    return ScratchCourse(tmp_path / "course", [UNIT], source=UNITS)


def perfect(course):
    return b.filled(b.read(UNITS / UNIT / f"{UNIT}.ipynb"), b.read(course.exercise(UNIT)))


def submitted(course, student):
    folder = course.data / "submitted" / student / UNIT
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else None


def test_generate_check_catches_a_stale_exercise(course):
    before = course.db.stat().st_mtime
    assert "up to date" in course.grader("generate", "--check").stdout
    source = course.root / "solutions" / UNIT / f"{UNIT}.ipynb"
    source.write_text(source.read_text().replace("Return 2 * x.", "Return twice x."))
    stale = course.grader("generate", "--check", check=False)
    assert stale.returncode == 1 and "STALE" in stale.stdout
    assert course.db.stat().st_mtime == before  # the check touched nothing
    course.grader("generate", UNIT)
    assert "Return twice x." in course.exercise(UNIT).read_text()
    assert course.grader("generate", "--check").returncode == 0


def test_collect_from_a_bulk_lms_zip(course, tmp_path):
    bulk = tmp_path / "moodle.zip"
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("work/00_fixture.ipynb", b.dumps(perfect(course)))
    with zipfile.ZipFile(bulk, "w") as zf:
        zf.writestr("Jane Doe_101_assignsubmission_file_/my work.ipynb", b.dumps(perfect(course)))
        zf.writestr("John Roe_102_assignsubmission_file_/00_fixture.ipynb",
                    (RAW / "not_json.ipynb").read_bytes())
        zf.writestr("Ann Lee_103_assignsubmission_file_/notes.txt", "no notebook")
        zf.write(inner, "Bo Chen_104_assignsubmission_file_.zip")
        zf.writestr("broken_105_assignsubmission_file_.zip", b"not a zip at all")
        zf.writestr("readme.ipynb", b.dumps(perfect(course)))
    out = course.grader("collect", UNIT, "--from", str(bulk), "--student-regexp",
                        r"(?P<student_id>.+?)_\d+_assignsubmission").stdout
    assert submitted(course, "Jane_Doe") == [f"{UNIT}.ipynb"]
    assert submitted(course, "Bo_Chen") == [f"{UNIT}.ipynb"]
    assert submitted(course, "John_Roe") == [f"{UNIT}.ipynb"]  # kept; autograde says why
    assert submitted(course, "Ann_Lee") == [] and submitted(course, "broken") == []
    assert "was submitted as `my work.ipynb`" in out
    assert "is not valid JSON" in out and "cannot be unpacked" in out
    assert "skipped readme" in out
    with Gradebook(f"sqlite:///{course.db}") as gb:
        assert {s.id for s in gb.students} >= {"Jane_Doe", "John_Roe", "Ann_Lee", "Bo_Chen"}


@pytest.mark.skipif(os.geteuid() != 0, reason="entries owned by other accounts need root")
def test_collect_from_the_exchange(course, tmp_path):
    """nbgrader's submit into an exchange, then the course's collect. An entry counts only
    for the Unix account that owns it, so the students are accounts every system has."""
    exchange, cache = tmp_path / "exchange", tmp_path / "cache"
    exchange.mkdir()
    common = [f"--Exchange.root={exchange}", f"--Exchange.cache={cache}"]
    nbgrader("release_assignment", UNIT, *common, cwd=course.root)
    work = {"daemon": {f"{UNIT}.ipynb": perfect(course)},
            "bin": {"my copy.ipynb": perfect(course)},
            "sys": {f"{UNIT}.ipynb": perfect(course), "scratch.ipynb": perfect(course)},
            "games": {}, "man": {f"{UNIT}.ipynb": perfect(course)}}
    inbound = exchange / "tensors-to-lenet" / "inbound"
    for student, files in work.items():
        home = tmp_path / student / UNIT
        home.mkdir(parents=True)
        (home / "README.txt").write_text("hello")
        for name, nb in files.items():
            (home / name).write_bytes(b.dumps(nb))
        nbgrader("submit", UNIT, "--student", student, "--course", "tensors-to-lenet", *common,
                 cwd=tmp_path / student)
        account = pwd.getpwnam(student)  # as if the student had submitted it herself
        for entry in inbound.glob(f"{student}+{UNIT}+*"):
            for path in (entry, *entry.rglob("*")):
                os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)
    # man swaps his notebook in the exchange for a link to the solution
    (swapped,) = inbound.glob(f"man+{UNIT}+*")
    (swapped / f"{UNIT}.ipynb").unlink()
    (swapped / f"{UNIT}.ipynb").symlink_to(course.root / "solutions" / UNIT / f"{UNIT}.ipynb")
    out = course.grader("collect", UNIT, "--exchange", "--exchange-root", str(exchange)).stdout
    for student in ("daemon", "bin", "sys"):
        assert f"{UNIT}.ipynb" in submitted(course, student), out
    assert "my copy.ipynb" not in submitted(course, "bin")
    assert "2 notebooks submitted" in out and "games" in out and "missing" in out
    assert f"{UNIT}.ipynb" not in submitted(course, "man") and "holds links" in out


def test_unreadable_submissions_get_a_stated_zero_without_a_kernel(course, tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    (export / "empty").mkdir()
    (export / "empty" / f"{UNIT}.ipynb").write_bytes(b"")
    (export / "garbled.ipynb").write_bytes((RAW / "not_json.ipynb").read_bytes())
    with zipfile.ZipFile(export / "nothing.zip", "w") as zf:
        zf.writestr("README.txt", "sorry")
    course.grader("collect", UNIT, "--from", str(export))
    no_bwrap = str(BIN)  # the environment's programs, but no bwrap or setpriv
    refused = course.grader("autograde", UNIT, check=False, path=no_bwrap)
    assert refused.returncode == 1 and "refusing to grade" in refused.stderr
    assert "bubblewrap" in refused.stderr and "--no-sandbox" in refused.stderr
    with Gradebook(f"sqlite:///{course.db}") as gb:
        assert gb.assignment_submissions(UNIT) == []
    unsafe = course.grader("autograde", UNIT, "--no-sandbox", path=no_bwrap)
    assert "3 not graded" in unsafe.stdout and "--no-sandbox" in unsafe.stderr
    out = course.grader("autograde", UNIT).stdout
    assert "3 not graded" in out
    with Gradebook(f"sqlite:///{course.db}") as gb:
        for student in ("empty", "garbled", "nothing"):
            sub = gb.find_submission(UNIT, student)
            assert sub.score == 0 and sub.needs_manual_grade
            assert all(c.auto_comment.startswith("Not graded:")
                       for nb in sub.notebooks for c in nb.comments)
    before = gradebook.dump(f"sqlite:///{course.db}")
    course.grader("autograde", UNIT)
    assert gradebook.dump(f"sqlite:///{course.db}") == before
    course.grader("feedback", UNIT)
    page = (course.data / "feedback" / "garbled" / UNIT / f"{UNIT}.html").read_text()
    assert "not valid JSON" in page and "Score: 0" in page
    course.grader("export")
    csv = (course.data / "reports" / "grades.csv").read_text()
    assert ",nothing,,,,0.0,0.0,0.0,6.0,not graded,yes," in csv  # nbgrader's columns, then ours
