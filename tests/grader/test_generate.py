"""grader.generate: solutions/ -> exercises/ with nbgrader's GenerateAssignment, the
check that they agree, and registering a unit in the gradebook."""

import shutil

import pytest
from nbgrader.api import Gradebook
from support.grading import new_gradebook, record_unit
from support.paths import FIXTURES

from grader import generate
from grader.course import Course, write_scratch_config
from grader.grading import gradebook

UNIT = "00_fixture"
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")


@pytest.fixture()
def course(tmp_path):
    db = write_scratch_config(tmp_path)
    new_gradebook(db)
    shutil.copytree(FIXTURES / "submissions" / "unit" / UNIT, tmp_path / "solutions" / UNIT)
    return Course(tmp_path)


def test_an_unknown_unit_is_refused_before_nbgrader_runs(course):
    for step in (generate.generate, generate.stale, generate.register,
                 generate.ensure_registered):
        with pytest.raises(ValueError, match=f"unknown unit '03_nope'.*has {UNIT}; pass one"):
            step(course, "03_nope")
    assert not (course.root / "exercises").exists()


def test_ensure_registered_leaves_a_registered_unit_alone(course):
    record_unit(course.db_url, "01_old")  # graded under a name no source folder has now
    before = gradebook.dump(course.db_url), course.coursedir.db_url
    generate.ensure_registered(course, "01_old")
    assert (gradebook.dump(course.db_url), course.coursedir.db_url) == before
    with Gradebook(course.db_url) as gb:
        assert [c.name for c in gb.find_notebook("01_old", "01_old").grade_cells] == [
            "double_test", "halve_test"]


@pytest.mark.slow
def test_generate_register_and_the_staleness_check(course):
    assert generate.stale(course, UNIT) == [f"{UNIT}/{UNIT}.ipynb"]  # nothing generated yet
    assert not gradebook.has_assignment(course.db_url, UNIT)  # the check used its own
    released = generate.generate(course, UNIT)
    assert released == course.root / "exercises" / UNIT
    text = (released / f"{UNIT}.ipynb").read_text()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    assert generate.stale(course, UNIT) == []
    with Gradebook(course.db_url) as gb:
        points = {c.name: c.max_score for c in gb.find_notebook(UNIT, UNIT).grade_cells}
    assert sum(points.values()) == 6  # the fixture unit: three tasks, 6 points
    (released / "extra.txt").write_text("not generated")
    assert generate.stale(course, UNIT) == [f"{UNIT}/extra.txt"]
    shutil.rmtree(course.root / "exercises")
    new_gradebook(course.db_url.removeprefix("sqlite:///"))  # an empty gradebook again
    generate.ensure_registered(course, UNIT)  # a fresh gradebook: the unit is recorded
    assert gradebook.has_assignment(course.db_url, UNIT)
    assert not (course.root / "exercises").exists()  # ... and exercises/ left alone
