"""Names, emails, file names and messages a submission or a roster controls, in every
report: no formula reaches a CSV cell, no link, image or HTML reaches a rendered page.

The pages are rendered by nbconvert's own Markdown renderer (the one that turns the
feedback notebook into HTML), and the CSV files read back with Python's csv module
as a spreadsheet would split them.
"""

import csv

import nbformat
import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune
from nbformat.v4 import new_code_cell, new_notebook, new_output
from nbgrader.api import Gradebook

from grader.preprocessors.hide import SummaryCell
from grader.reporting import records
from grader.reporting.escape import FORMULA_START, csv_cell, markdown_text
from grader.reporting.export import export

XSS = "<img src=x onerror=alert(1)> [click](javascript:alert(2)) `x` | <script>alert(3)</script>"
FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+2", "-3+4", "@SUM(1,2)",
            "\tleading tab", "\rleading return"]
ENTRY = "=2+3*7 x9.zip"


def rendered(markdown):
    """The HTML nbconvert makes of ``markdown``."""
    return markdown2html_mistune(markdown)


def assert_inert(html):
    """No element, attribute or link came out of the hostile text."""
    assert "<img src=\"x\"" not in html and "<script" not in html and "onerror=\"" not in html
    assert "href=\"javascript" not in html.lower()
    assert "onerror=alert(1)" in html.replace("&lt;", "<")  # shown, as text


@pytest.mark.parametrize("text", [XSS, "a [b](javascript:c) <b>d</b> &amp; $e$", "\\[x](y)"])
def test_markdown_text_renders_as_itself(text):
    html = rendered(f"| a |\n|---|\n| {markdown_text(text)} |\n")
    assert "<a " not in html and "<b>" not in html and "<img" not in html
    assert html.count("<td>") == 1  # no cell boundary came out of it


@pytest.mark.parametrize("value", FORMULAS + ["", None, "alice", "0.5", "Smith, Bob \"B\""])
def test_csv_cell_is_owasps_rule(value):
    cell = csv_cell(value)
    assert not cell.startswith(FORMULA_START)
    assert cell == ("'" + value if value and value.startswith(FORMULA_START) else value or "")


@pytest.fixture()
def hostile(course):
    """The class, plus a student whose names and email are formulas and whose submission
    came as a zip named like a formula, and a failure message carrying HTML and a link."""
    with Gradebook(course.db_url) as gb:
        gb.add_student("mallory", first_name=FORMULAS[0], last_name=FORMULAS[1],
                       email=FORMULAS[3])
        gb.add_submission("01_early", "mallory")
    records.update(course.root, "01_early", "status.json", {"mallory": {
        "status": "not graded",
        "notes": [{"severity": "zero", "kind": "intake",
                   "text": f"{ENTRY}: not a notebook {XSS}"}]}})
    path = course.folder("autograded", "carol", "01_early") / "01_early.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    nb.cells[0].outputs = [new_output("error", ename="AssertionError", evalue=XSS, traceback=[])]
    nbformat.write(nb, str(path))
    return course


def test_no_csv_cell_starts_a_formula(hostile, tmp_path):
    export(hostile, tmp_path, formats=("canvas", "moodle"))
    files = ["grades.csv", "totals.csv", "canvas.csv", "moodle.csv"]
    seen = set()
    for name in files:
        with open(tmp_path / name, newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                assert not [c for c in row if c.startswith(FORMULA_START)], (name, row)
                seen.update(row)
    # the values are all there, each shown as text
    assert {"'" + FORMULAS[0], "'" + FORMULAS[1], "'" + FORMULAS[3]} <= seen
    assert any(c.startswith("'" + ENTRY) for c in seen)


def test_summary_md_shows_hostile_text_as_text(hostile, tmp_path):
    export(hostile, tmp_path)
    md = (tmp_path / "summary.md").read_text()
    html = rendered(md)
    assert_inert(html)
    assert ENTRY in html  # the reason, quoted


def test_feedback_results_table_shows_hostile_text_as_text():
    cell = new_code_cell("check()", outputs=[new_output("error", ename="AssertionError",
                                                        evalue=XSS, traceback=[])])
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                 "grade_id": "t", "points": 1.0, "score": 0.0,
                                 "schema_version": 3}
    nb = new_notebook(cells=[cell])
    nb.metadata["grader"] = {"notes": [{"severity": "review", "kind": "k",
                                        "text": f"entry {ENTRY} {XSS}"}]}
    nb, _ = SummaryCell().preprocess(nb, {})
    assert_inert(rendered(nb.cells[0].source))
