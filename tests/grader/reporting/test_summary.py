"""summary.md/json and the charts: per test the failure rate and the most frequent error
messages, totals, who needs a look."""

import json

import nbformat
import pytest
from classbook import BOB_REASON, SCORES, UNITS
from matplotlib.image import imread
from nbformat.v4 import new_output
from nbgrader.api import Gradebook

from grader.reporting import analytics
from grader.reporting.export import export


def stats_of(done, unit):
    return {t["test"]: t for t in done["summary"]["tests"][unit]}


def test_failure_rates_and_first_lines_of_the_errors(course, tmp_path):
    done = export(course, tmp_path)
    early = stats_of(done, "01_early")
    # 01_early: alice full, bob 0/0 (not graded), carol fails t_shape only
    assert (early["t_shape"]["submissions"], early["t_shape"]["failures"]) == (3, 2)
    assert early["t_shape"]["failure_rate"] == pytest.approx(2 / 3)
    assert early["t_shape"]["mean"] == pytest.approx(2 / 3)
    assert early["t_value"]["failure_rate"] == pytest.approx(1 / 3)
    # carol's message, first line only; bob's notebook left no error output
    assert sorted(map(tuple, early["t_shape"]["messages"])) == sorted([
        ("AssertionError: shape: expected (2, 3), got (3, 2)", 1), (analytics.NO_MESSAGE, 1)])
    late = stats_of(done, "02_late")
    assert late["t_sum"]["failure_rate"] == 1.0
    assert sorted(map(tuple, late["t_sum"]["messages"])) == [
        ("AssertionError: sum: expected 6.0, got 5.0", 1),
        ("NameError: name 'total' is not defined", 1)]
    # the same numbers as the gradebook's scores (SCORES is what the gradebook holds)
    for unit, tests in UNITS.items():
        for test, points in tests.items():
            got = [units[unit][0][test] for units in SCORES.values() if unit in units]
            assert stats_of(done, unit)[test]["failures"] == sum(s < points for s in got)


def test_the_most_frequent_message_comes_first(course, tmp_path):
    def set_outputs(student, cell, ename, evalue):
        path = course.folder("autograded", student, "01_early") / "01_early.ipynb"
        nb = nbformat.read(str(path), as_version=4)
        nb.cells[cell].outputs = [new_output("error", ename=ename, evalue=evalue, traceback=[])]
        nbformat.write(nb, str(path))

    # alice now fails t_shape too; she and bob get carol's message (other details after it)
    set_outputs("alice", 0, "AssertionError", "shape: expected (2, 3), got (3, 2)\nrow 1")
    set_outputs("bob", 0, "AssertionError", "shape: expected (2, 3), got (3, 2)")
    set_outputs("alice", 1, "ValueError", "a passing test's output is no failure")
    with Gradebook(course.db_url) as gb:
        gb.find_grade("t_shape", "01_early", "01_early", "alice").auto_score = 0.0
        gb.db.commit()
    done = export(course, tmp_path)
    early = stats_of(done, "01_early")
    assert early["t_shape"]["messages"] == [
        ["AssertionError: shape: expected (2, 3), got (3, 2)", 3]]
    assert early["t_shape"]["failure_rate"] == 1.0
    # bob failed t_value without a message; alice's t_value output came from a passing test
    assert early["t_value"]["messages"] == [[analytics.NO_MESSAGE, 1]]


def test_summary_markdown_names_tests_errors_charts_and_reasons(course, tmp_path):
    done = export(course, tmp_path)
    md = (tmp_path / "summary.md").read_text()
    assert "![failure rate per test of 01_early](failures-01_early.png)" in md
    assert ("| t_shape | 2 | 3 | 0.67 | 67 % | 1× `(failed without an error message)`<br>"
            "1× `AssertionError: shape: expected (2, 3), got (3, 2)` |") in md
    assert md.index("| t_shape |") < md.index("| t_value |")  # worst first
    assert f"- **bob**, 01_early (not graded, score 0.0): {BOB_REASON}" in md
    assert "4 students, out of 6 points" in md
    assert json.loads((tmp_path / "summary.json").read_text()) == json.loads(
        json.dumps(done["summary"]))
    assert done["summary"]["totals"] == {"alice": 4.5, "bob": 0.0, "carol": 1.0, "dave": 0.0}


def test_charts_are_pngs_with_one_bar_per_test(course, tmp_path):
    export(course, tmp_path)
    for unit in UNITS:
        image = imread(tmp_path / f"failures-{unit}.png")
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] == 700
    assert imread(tmp_path / "totals.png").shape[:2] == (400, 700)
    tall = imread(tmp_path / "failures-01_early.png").shape[0]  # two tests
    short = imread(tmp_path / "failures-02_late.png").shape[0]  # one test
    assert tall > short


def test_totals_csv_sums_the_units(course, tmp_path):
    export(course, tmp_path)
    lines = (tmp_path / "totals.csv").read_text().splitlines()
    assert lines[0] == "student_id,last_name,first_name,email,score,max_score,needs_review"
    assert "alice,Smith,Alice,alice@uni.example,4.5,6.0,no" in lines
    assert "bob,,,,0.0,6.0,yes" in lines


def test_first_line():
    assert analytics.first_line({"ename": "AssertionError", "evalue": "\n  a\nb"}) == (
        "AssertionError: a")
    assert analytics.first_line({"ename": "KeyboardInterrupt", "evalue": ""}) == (
        "KeyboardInterrupt")
