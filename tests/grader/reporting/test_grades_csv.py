"""grades.csv: nbgrader's own export columns (checked against nbgrader's CsvExportPlugin on
the same gradebook), then status, needs_review and reasons."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from classbook import BOB_REASON
from nbgrader.api import Gradebook
from nbgrader.plugins.export import CsvExportPlugin

from grader.reporting import grades_csv


def read(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def nbgrader_export(course, path, **selection):
    """The file nbgrader's own CSV export plugin writes for this gradebook."""
    with Gradebook(course.db_url) as gb:
        CsvExportPlugin(to=str(path), **selection).export(gb)
    return read(path)


def course_export(course, path, **selection):
    with Gradebook(course.db_url) as gb:
        grades_csv.write_csv(path, grades_csv.rows(course, gb, selection.get("assignment"),
                                                   selection.get("student")))
    return read(path)


@pytest.mark.parametrize("selection", [{}, {"assignment": ["02_late"]},
                                       {"student": ["carol", "dave"]}])
def test_nbgrader_columns_equal_nbgraders_own_export(course, tmp_path, selection):
    theirs = nbgrader_export(course, tmp_path / "nbgrader.csv", **selection)
    ours = course_export(course, tmp_path / "grades.csv", **selection)
    assert ours[0] == theirs[0] + ["status", "needs_review", "reasons"]
    assert [row[:len(theirs[0])] for row in ours] == theirs
    assert len(ours) > 1


def test_course_columns_say_what_happened(course, tmp_path):
    table = course_export(course, tmp_path / "grades.csv")
    got = {(r[0], r[3]): dict(zip(table[0], r, strict=True)) for r in table[1:]}
    assert len(got) == 2 * 4  # every unit and student, once
    dave = got[("01_early", "dave")]  # submitted nothing: nbgrader's zero row
    assert (dave["status"], dave["score"], dave["timestamp"], dave["needs_review"]) == (
        "not submitted", "0.0", "", "no")
    assert (dave["last_name"], dave["first_name"], dave["email"]) == ("Roe", "Dave",
                                                                      "dave@uni.example")
    bob = got[("01_early", "bob")]  # a zero with its reason
    assert (bob["status"], bob["score"], bob["needs_review"], bob["reasons"]) == (
        "not graded", "0.0", "yes", BOB_REASON)
    assert (bob["first_name"], bob["email"]) == ("", "")
    alice = got[("02_late", "alice")]  # late: nbgrader's score is raw minus the penalty
    assert (alice["raw_score"], alice["late_submission_penalty"], alice["score"]) == (
        "2.0", "0.5", "1.5")
    assert alice["status"] == "graded" and alice["timestamp"] == "2026-11-01 09:30:15.123456"
    carol = got[("01_early", "carol")]  # an info note is no reason to look
    assert (carol["status"], carol["needs_review"], carol["reasons"]) == ("graded", "no", "")


def test_unknown_unit_or_student_is_named(course):
    with Gradebook(course.db_url) as gb:
        with pytest.raises(ValueError, match="no unit 03_nope .*01_early, 02_late"):
            grades_csv.rows(course, gb, ["03_nope"])
        with pytest.raises(ValueError, match="no student eve .*roster"):
            grades_csv.rows(course, gb, students=["eve"])


@pytest.mark.slow
def test_nbgrader_export_command_writes_the_course_csv(course, tmp_path):
    """`nbgrader export` (the real command line, with the course configuration) uses the
    course's plugin and writes what `python -m grader export` writes."""
    out = tmp_path / "from-nbgrader.csv"
    nbgrader = str(Path(sys.executable).parent / "nbgrader")
    proc = subprocess.run([nbgrader, "export", "--to", str(out)], check=False, cwd=course.root,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "GradesCsvExportPlugin" in proc.stderr
    assert read(out) == course_export(course, tmp_path / "grades.csv")
