"""The judge's comparison on real records (dlcourse.checks), in the grader's process."""

import json

import numpy as np
import pytest

from dlcourse import checks
from grader.preprocessors.judge import compare, raised


def records(*calls):
    """The records the check calls publish (failing ones included), as JSON round-trips."""
    with checks.capture() as found:
        for fn, args, kwargs in calls:
            try:
                fn(*args, **kwargs)
            except AssertionError:
                pass
    return json.loads(json.dumps(found))


X = np.arange(6.0).reshape(2, 3)


def cell(value, count=3):
    """One test cell: assert_close(value, 2 X), assert_equal(count, 3, dtype="int")."""
    return records((checks.assert_close, (value, 2 * X), {"name": "double(X)"}),
                   (checks.assert_equal, (count, 3), {"name": "count", "dtype": "int"}))


REFERENCE = cell(2 * X)


def test_right_values_pass_and_wrong_ones_say_what_was_expected():
    assert compare(cell(X + X), REFERENCE) is None
    why = compare(cell(3 * X), REFERENCE)
    assert why.startswith("double(X): expected") and "got" in why
    assert compare(cell(2 * X, 3.0), REFERENCE) == "count: expected dtype int, got float"


def test_a_record_that_claims_the_right_value_for_another_check_fails():
    forged = cell(2 * X)
    forged[0]["name"] = "something else"
    assert "expected this check here" in compare(forged, REFERENCE)


def test_missing_and_extra_records_fail():
    assert compare(cell(2 * X)[:1], REFERENCE) == "count: this check did not run"
    assert "makes 2" in compare(cell(2 * X) + cell(2 * X), REFERENCE)
    assert compare([], REFERENCE, "NameError: name 'double' is not defined") == (
        "the test raised NameError (run the notebook yourself to see where)")


@pytest.mark.parametrize("error, said", [
    ("AssertionError: B64:aGlkZGVu", "the test raised AssertionError (run the notebook "
                                     "yourself to see where)"),
    ("Leak_6869646465: B64:aGlkZGVu", "the test raised an exception of a class your code "
                                      "defines"),
    ("open: not an exception", "the test raised an exception of a class your code defines"),
    ("DeadKernelError: the kernel was killed by SIGKILL", "DeadKernelError: the kernel was "
                                                          "killed by SIGKILL"),
    (None, None),
])
def test_a_cells_error_is_shown_by_its_type_alone(error, said):
    assert raised(error) == said


def test_the_student_side_expected_and_tol_are_ignored():
    forged = cell(3 * X)
    forged[0]["expected"] = forged[0]["actual"]  # the kernel's checker was told 3 X
    forged[0]["tol"] = 1e9
    assert compare(forged, REFERENCE).startswith("double(X): expected")


class Yes(int):
    __module__ = "builtins"

    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


def test_values_that_are_not_plain_data_fail():
    assert "plain data" in compare(cell(2 * X, Yes(1)), REFERENCE)
    forged = cell(2 * X)
    forged[1]["actual"] = {"type": "ndarray", "npy": "not base64!"}
    assert "plain data" in compare(forged, REFERENCE)


def test_an_error_in_the_kernel_fails_the_cell_even_when_every_record_matches():
    assert compare(cell(2 * X), REFERENCE, "AssertionError: solve this by hand") == (
        "the test raised AssertionError (run the notebook yourself to see where)")


def test_models_pass_on_the_graders_own_evaluation():
    ref = [{"kind": "accuracy", "name": "acc", "minimum": 0.97, "inputs": "flat"}]
    student = [{"kind": "accuracy", "name": "acc", "actual": {"type": "float", "value": "1.0"}}]
    assert compare(student, ref, models={0: {"test": 0.98, "validation": 0.979}}) is None
    why = compare(student, ref, models={0: {"test": 0.5, "validation": 0.5}})
    assert why.startswith("acc: expected a test accuracy of at least 97.00%, got 50.00%")
    assert "could not evaluate" in compare(student, ref, models={0: {"error": "Lambda"}})


def test_time_budgets_charge_everything_before_the_check(tmp_path):
    """From the first cell's start to the check's record, less the locked cells' time
    (at most twice their time in the reference run, plus 1 s)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook
    from traitlets.config import Config

    from grader.preprocessors.judge import Judge
    from grader.preprocessors.reference import SECONDS

    def gid(name, **kw):
        return {"nbgrader": {"grade_id": name, "schema_version": 3, "grade": False,
                             "solution": False, "locked": False, **kw}}

    released = new_notebook(cells=[
        new_code_cell("setup", metadata=gid("setup", locked=True)),
        new_code_cell("train", metadata={**gid("train", solution=True),
                                         "dlcourse": {"time_budget_s": 10, "test": "t"}}),
        new_code_cell("test", metadata=gid("t", grade=True, locked=True, points=1))])
    folder = tmp_path / "exercises" / "u"
    folder.mkdir(parents=True)
    nbformat.write(released, folder / "u.ipynb")
    config = Config({"CourseDirectory": {"root": str(tmp_path),
                                         "release_directory": "exercises"}})
    judge = Judge(config=config)

    def charged(cells, seconds, record_at, reference):
        """The verdicts for a run whose cells took ``seconds`` one after the other and
        whose test cell's record arrived ``record_at`` seconds after it started."""
        started, clock = {}, 0.0
        for i, took in enumerate(seconds):
            started[i], clock = clock, clock + took
        test = len(cells) - 1
        resources = {"nbgrader": {"assignment": "u", "notebook": "u"},
                     "dlcourse": {"seconds": dict(enumerate(seconds)), "started": started,
                                  "records": {test: [started[test] + record_at]}}}
        return judge._budgets(new_notebook(cells=cells), resources, reference)

    setup, train, test = released.cells
    extra = new_code_cell("extra")
    usual = {SECONDS: {"setup": 30.0, "t": 0.5}}
    # a slow set-up cell (as in the reference run) and an extra cell of 6 s: 9 s in all
    assert charged([setup, extra, train, test], [50, 6, 2, 5], 1.0, usual) == {}
    # the same run, but the extra cell took 8 s: over
    assert charged([setup, extra, train, test], [50, 8, 2, 5], 1.0, usual) == {
        "t": "training took 11 s; the budget is 10 s (measured by the grader)"}
    # work above the read-only cell counts too
    assert charged([extra, setup, train, test], [9, 1, 2, 5], 1.0, {SECONDS: {"setup": 1.0}}
                   ) == {"t": "training took 12 s; the budget is 10 s (measured by the grader)"}
    # a thread working beside the set-up cell made it 20 s slower than in the reference run,
    # and a hook joined it when the test cell started (its record came 15 s in)
    assert charged([setup, train, test], [21, 2, 16], 15.0, {SECONDS: {"setup": 1.0}}) == {
        "t": "training took 35 s; the budget is 10 s (measured by the grader)"}
    # a reference cached before it kept times: the locked cells' own times are allowed
    assert charged([setup, extra, train, test], [50, 6, 2, 5], 1.0, {}) == {}


@pytest.mark.parametrize("result, seen", [
    ({"test": 0.999, "validation": 0.975}, "test"),        # trained on the test set
    ({"test": 0.975, "validation": 0.999}, "validation"),  # trained on the validation images
    ({"test": 0.855, "validation": 0.838}, None),          # an honest weak model
    ({"test": 0.9864, "validation": 0.9888}, None),        # LeNet's usual spread
    ({"error": "ValueError"}, None),
])
def test_implausible_names_the_set_a_model_saw(result, seen):
    from grader.preprocessors.judge import implausible

    assert implausible(result) == seen
