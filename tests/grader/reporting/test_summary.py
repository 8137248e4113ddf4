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
    assert ("| t_shape | 2 | 3 | 0.67 | 67 % | 1× (failed without an error message)<br>"
            "1× AssertionError: shape: expected (2, 3), got (3, 2) |") in md
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


@pytest.mark.slow
def test_a_real_grading_run_reaches_the_summary_and_the_lms_files(tmp_path):
    """Real submissions of the fixture unit, graded by `python -m grader autograde` (real
    kernels): the summary's failure counts are the gradebook's and its messages are the
    checks' own; the roster's emails reach moodle.csv."""
    from fixtures.submissions import build as b
    from support.grading import ScratchCourse
    from support.paths import FIXTURES

    unit, source = "00_fixture", FIXTURES / "submissions" / "unit"
    scratch = ScratchCourse(tmp_path / "course", [unit], source=source)
    perfect = b.filled(b.read(source / unit / f"{unit}.ipynb"), b.read(scratch.exercise(unit)))
    triple = b.edit(perfect, "double", "def double(x):\n    return 3 * np.asarray(x)\n")
    work = {"ann": perfect, "ben": triple,
            "cy": b.edit(triple, "row_means", "def row_means(a):\n    return a.mean(axis=0)\n")}
    for student, nb in work.items():
        path = tmp_path / f"{student}.ipynb"
        nbformat.write(nb, str(path))
        scratch.submit(student, unit, path)
    (tmp_path / "roster.csv").write_text("id,name,email\n" + "".join(
        f"{s},{s.title()} Tester,{s}@uni.example\n" for s in work))
    scratch.grader("roster", str(tmp_path / "roster.csv"))
    scratch.grader("autograde", unit)
    scratch.grader("export", "--format", "canvas", "--format", "moodle")
    out = scratch.data / "reports"
    summary = json.loads((out / "summary.json").read_text())
    stats = {t["test"]: t for t in summary["tests"][unit]}
    with Gradebook(f"sqlite:///{scratch.db}") as gb:
        for sub in gb.assignment_submissions(unit):
            for grade in (g for nb in sub.notebooks for g in nb.grades):
                stats[grade.name].setdefault("oracle", []).append(grade.score < grade.max_score)
    for test, stat in stats.items():
        assert stat["failures"] == sum(stat["oracle"]), test
    assert stats["double_test"]["failures"] == 2 and stats["row_means_test"]["failures"] == 1
    (line, count), = stats["double_test"]["messages"]
    assert count == 2 and line.startswith("AssertionError: ") and "double" in line
    (line, count), = stats["row_means_test"]["messages"]
    assert count == 1 and "row_means" in line
    assert stats["count_positive_test"]["messages"] == []
    assert (out / "failures-00_fixture.png").read_bytes()[:4] == b"\x89PNG"
    moodle = read_csv(out / "moodle.csv")
    assert [r[2:4] for r in moodle[1:]] == [[s, f"{s}@uni.example"] for s in sorted(work)]
    canvas = read_csv(out / "canvas.csv")
    assert canvas[1] == ["Points Possible", "", "", "", "", "6"]
    assert {r[0]: r[5] for r in canvas[2:]} == {"Tester, Ann": "6", "Tester, Ben": "4",
                                                "Tester, Cy": "1"}


def read_csv(path):
    import csv

    with open(path, newline="") as fh:
        return list(csv.reader(fh))
