"""The judge through real nbgrader autograde, on the fixture units (NumPy; one tiny model).

``00_fixture``: honest work keeps its points; a wrong answer loses them, also when its
kernel's checks were fooled (a private helper of ``dlcourse.checks`` replaced) or handed
the expected value as the student's (the test cells ran sealed: there was none to hand,
and the attempt is noted). ``00_model``: the grader evaluates a recorded model itself in a
pristine sandboxed kernel: honest training passes; a model trained on the test set is
flagged; one with a Lambda layer is not loaded (``safe_mode``); training past the
budget fails, measured by the grader's own clock, also when it moved into a cell of the
student's own (even above the read-only cells) or into a thread that a hook joins when
the test cell starts.
"""

import pytest
from fixtures.submissions import build as b
from fixtures.submissions.cases import CELLS
from nbgrader.api import Gradebook
from support.grading import ScratchCourse
from support.paths import FIXTURES

from grader.course import Course
from grader.reporting import records

UNITS = FIXTURES / "submissions" / "unit"
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("grader-judge")]


def cell(name):
    return (CELLS / name).read_text()


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    scratch = ScratchCourse(tmp_path_factory.mktemp("judge"), ["00_fixture", "00_model"],
                            source=UNITS)
    fixture = b.filled(b.read(UNITS / "00_fixture" / "00_fixture.ipynb"),
                       b.read(scratch.exercise("00_fixture")))
    wrong = b.edit(fixture, "double", "def double(x):\n    return 3 * x\n")
    submissions = {"00_fixture": {
        "honest": fixture, "wrong": wrong,
        "fooled": b.insert_code(wrong, "setup", cell("judge_private_helper.py")),
        "copier": b.insert_code(wrong, "setup", cell("judge_copy_expected.py"))}}
    model = b.filled(b.read(UNITS / "00_model" / "00_model.ipynb"),
                     b.read(scratch.exercise("00_model")))
    submissions["00_model"] = {
        "honest": model, "blank": b.read(scratch.exercise("00_model")),
        "on_test_set": b.edit(model, "train", cell("model_on_test_set.py")),
        "on_validation_set": b.edit(model, "train", cell("model_on_validation_set.py")),
        "lambda": b.edit(model, "train", cell("model_lambda.py")),
        "slow": b.edit(model, "train", cell("model_slow.py")),
        "slow_elsewhere": b.insert_code(model, "setup", "import time\ntime.sleep(25)"),
        "slow_above": b.insert_code(model, None, "import time\ntime.sleep(25)"),
        "slow_thread": b.insert_code(model, "setup", cell("model_slow_thread.py"))}
    for unit, cases in submissions.items():
        for student, nb in cases.items():
            path = scratch.root / f"{student}-{unit}.ipynb"
            path.write_bytes(b.dumps(nb))
            scratch.submit(student, unit, path)
        scratch.autograde(unit)
    return scratch


def scores(course, unit):
    with Gradebook(f"sqlite:///{course.db}") as gb:
        return {s.student_id: {g.name: g.score for nb in s.notebooks for g in nb.grades}
                for s in gb.assignment_submissions(unit)}


def said(course, unit, student):
    return " ".join(n["text"] for n in records.status(Course(course.root), unit,
                                                      student)["notes"])


def message(course, unit, student, test):
    import nbformat

    path = course.data / "autograded" / student / unit / f"{unit}.ipynb"
    for c in nbformat.read(path, 4).cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == test:
            return " ".join(o.get("evalue", "") for o in c.outputs)
    raise KeyError(test)


def test_values_decide_not_the_kernels_checks(course):
    got = scores(course, "00_fixture")
    assert got["honest"] == {"double_test": 2, "row_means_test": 3, "count_positive_test": 1}
    for student in ("wrong", "fooled"):
        assert got[student] == {"double_test": 0, "row_means_test": 3,
                                "count_positive_test": 1}, student
    assert message(course, "00_fixture", "fooled", "double_test").startswith(
        "double([1, 2]): expected [2. 4.]")
    # every check got the stand-in, the honest answers' checks too
    assert got["copier"] == {"double_test": 0, "row_means_test": 0, "count_positive_test": 0}
    assert "stand-in for the expected value" in said(course, "00_fixture", "copier")
    for student in ("honest", "wrong"):
        assert "stand-in" not in said(course, "00_fixture", student)
        assert "expected value in the student's kernel" not in said(course, "00_fixture",
                                                                     student)


def test_models_are_judged_by_the_grader(course):
    got = {s: v["train_test"] for s, v in scores(course, "00_model").items()}
    assert got == {"honest": 2, "blank": 0, "on_test_set": 2, "on_validation_set": 2,
                   "lambda": 0, "slow": 0,
                   "slow_elsewhere": 0, "slow_above": 0, "slow_thread": 0}
    assert "implausibly above its validation accuracy" in said(course, "00_model",
                                                              "on_test_set")
    assert "was it trained on the validation images" in said(course, "00_model",
                                                             "on_validation_set")
    assert "implausibly" not in said(course, "00_model", "honest")
    assert "could not evaluate the model" in message(course, "00_model", "lambda",
                                                     "train_test")
    for student in ("slow", "slow_elsewhere", "slow_above", "slow_thread"):
        assert "the budget is 20 s (measured by the grader)" in message(
            course, "00_model", student, "train_test")
