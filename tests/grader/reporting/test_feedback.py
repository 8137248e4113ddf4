"""grader.reporting.feedback for submissions that could not be graded: a page with the
zero and its reasons, from a temporary gradebook and the grader's records (no converter
runs: nothing here has an autograded notebook)."""

import html
import re

import pytest
from nbgrader.api import Gradebook
from support.grading import new_gradebook, record_unit

from grader.course import Course, write_scratch_config
from grader.grading import gradebook
from grader.reporting import records
from grader.reporting.feedback import feedback

UNIT = "01_u"
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")


@pytest.fixture()
def course(tmp_path):
    db = write_scratch_config(tmp_path)
    record_unit(new_gradebook(db), UNIT)  # 2 + 3 points
    course = Course(tmp_path)
    with Gradebook(course.db_url) as gb:
        for student in ("ann", "bo", "cy"):
            gradebook.zero(gb, UNIT, student, "no notebook")
    records.update(course.root, UNIT, "collect.json", {
        "ann": {"status": "unreadable", "notes": [
            {"severity": "zero", "kind": "collect", "text": "u.ipynb is not valid JSON <here>"},
            {"severity": "info", "kind": "collect", "text": "renamed"}]}})
    return course


def page(course, student):
    return (course.folder("feedback", student, UNIT) / f"{UNIT}.html").read_text()


def test_every_zero_gets_a_page_with_its_reasons(course):
    pages, errors = feedback(course, UNIT)
    assert errors == []
    assert pages == sorted(course.folder("feedback", s, UNIT) / f"{UNIT}.html"
                           for s in ("ann", "bo", "cy"))
    ann = page(course, "ann")
    assert f"<h1>{UNIT} (Score: 0 / 5)</h1>" in ann
    reasons = re.findall(r"<li>(.*?)</li>", ann)
    assert reasons == [html.escape("u.ipynb is not valid JSON <here>")]  # zero notes only
    assert "<title>01_u: feedback for ann</title>" in ann
    assert re.findall(r"<li>(.*?)</li>", page(course, "bo")) == ["no gradable notebook"]


def test_only_the_students_asked_for(course):
    pages, _ = feedback(course, UNIT, ["bo", "nobody"])
    assert pages == [course.folder("feedback", "bo", UNIT) / f"{UNIT}.html"]
    assert not course.folder("feedback", "ann", UNIT).exists()


def test_a_unit_not_in_the_gradebook(course):
    with pytest.raises(ValueError, match="02_v is not in the gradebook: autograde it first"):
        feedback(course, "02_v")
