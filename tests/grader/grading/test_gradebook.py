"""grader.grading.gradebook on temporary SQLite gradebooks built with nbgrader's own API:
extract and merge (a private copy into the course gradebook), zero, the checks of a
worker's data and notes, dump."""

import datetime
import math
import shutil

import pytest
from nbgrader.api import Gradebook
from support.grading import new_gradebook, record_unit

from grader.grading import gradebook

UNIT = "01_u"
STAMP = datetime.datetime(2026, 11, 30, 9, 15, 0)
# nbgrader's add_submission trips SQLAlchemy 2's autoflush warnings (harmless; autograde
# filters them too).
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")


@pytest.fixture()
def course_db(tmp_path):
    """The course gradebook: the unit recorded, ann and bob registered."""
    url = new_gradebook(tmp_path / "gradebook.db")
    record_unit(url, UNIT)
    with Gradebook(url) as gb:
        for student in ("ann", "bob"):
            gb.update_or_create_student(student)
    return url


def private_copy(course_db, tmp_path, name="scratch.db"):
    """What a worker grades into: a copy of the course gradebook."""
    path = tmp_path / name
    shutil.copyfile(course_db.removeprefix("sqlite:///"), path)
    return f"sqlite:///{path}"


def grade_as_autograde(url, student, scores, late=None, comments=None):
    """Write a submission's results the way nbgrader's autograde does."""
    with Gradebook(url) as gb:
        sub = gb.add_submission(UNIT, student, timestamp=STAMP)
        (nb,) = sub.notebooks
        nb.late_submission_penalty = late
        for grade in nb.grades:
            grade.auto_score = scores[grade.name]
            grade.needs_manual_grade = False
        for comment in nb.comments:
            comment.auto_comment = (comments or {}).get(comment.name)
        gb.db.commit()


def test_extract_reads_what_autograde_wrote(course_db, tmp_path):
    scratch = private_copy(course_db, tmp_path)
    grade_as_autograde(scratch, "ann", {"double_test": 2.0, "halve_test": 1.5}, late=0.5,
                       comments={"double": "fine"})
    assert gradebook.extract(scratch, UNIT, "ann") == {
        "timestamp": STAMP,
        "notebooks": {UNIT: {
            "late_submission_penalty": 0.5,
            "grades": {"double_test": (2.0, False), "halve_test": (1.5, False)},
            "comments": {"double": "fine", "halve": None},
        }},
    }


def test_merge_gives_the_course_gradebook_what_the_private_copy_holds(course_db, tmp_path):
    for student, scores in (("ann", (2.0, 0.0)), ("bob", (0.0, 3.0))):
        scratch = private_copy(course_db, tmp_path, f"{student}.db")
        grade_as_autograde(scratch, student, dict(zip(("double_test", "halve_test"), scores,
                                                      strict=True)))
        data = gradebook.extract(scratch, UNIT, student)
        with Gradebook(course_db) as gb:
            gradebook.merge(gb, UNIT, student, gradebook.valid_data(gb, UNIT, data))
        assert gradebook.dump(course_db)[(student, UNIT)] == gradebook.dump(scratch)[
            (student, UNIT)]
    with Gradebook(course_db) as gb:
        assert gb.find_submission(UNIT, "ann").score == 2.0
        assert gb.find_submission(UNIT, "bob").score == 3.0


def test_merge_keeps_manual_grades_and_comments(course_db, tmp_path):
    grade_as_autograde(course_db, "ann", {"double_test": 0.0, "halve_test": 0.0})
    with Gradebook(course_db) as gb:
        gb.find_grade("halve_test", UNIT, UNIT, "ann").manual_score = 2.5
        gb.find_comment("double", UNIT, UNIT, "ann").manual_comment = "see me"
        gb.db.commit()
    scratch = private_copy(course_db, tmp_path)
    with Gradebook(scratch) as gb:  # the regrade: new automatic results in the copy
        gb.find_grade("double_test", UNIT, UNIT, "ann").auto_score = 2.0
        gb.find_comment("double", UNIT, UNIT, "ann").auto_comment = "regraded"
        gb.db.commit()
    with Gradebook(course_db) as gb:
        gradebook.merge(gb, UNIT, "ann", gradebook.extract(scratch, UNIT, "ann"))
    with Gradebook(course_db) as gb:
        assert gb.find_grade("double_test", UNIT, UNIT, "ann").score == 2.0
        assert gb.find_grade("halve_test", UNIT, UNIT, "ann").score == 2.5
        comment = gb.find_comment("double", UNIT, UNIT, "ann")
        assert (comment.auto_comment, comment.manual_comment) == ("regraded", "see me")


def test_zero_states_the_reason_everywhere(course_db):
    grade_as_autograde(course_db, "ann", {"double_test": 2.0, "halve_test": 3.0}, late=1.0)
    later = STAMP + datetime.timedelta(hours=2)
    with Gradebook(course_db) as gb:
        gradebook.zero(gb, UNIT, "ann", "the file is empty", later)
        gradebook.zero(gb, UNIT, "cy", "no notebook")  # not registered yet: registered now
    with Gradebook(course_db) as gb:
        for student, reason in (("ann", "the file is empty"), ("cy", "no notebook")):
            sub = gb.find_submission(UNIT, student)
            (nb,) = sub.notebooks
            assert sub.score == 0 and sub.needs_manual_grade and nb.late_submission_penalty is None
            assert {g.name: (g.auto_score, g.needs_manual_grade) for g in nb.grades} == {
                "double_test": (0.0, True), "halve_test": (0.0, True)}
            assert {c.auto_comment for c in nb.comments} == {f"Not graded: {reason}"}
        assert gb.find_submission(UNIT, "ann").timestamp == later


def good_data():
    return {"timestamp": STAMP, "notebooks": {UNIT: {
        "late_submission_penalty": 0, "grades": {"double_test": (2, False),
                                                 "halve_test": (None, True)},
        "comments": {"double": "x" * (gradebook.MAX_TEXT + 5), "halve": None}}}}


def test_valid_data_cleans_good_data(course_db):
    with Gradebook(course_db) as gb:
        clean = gradebook.valid_data(gb, UNIT, good_data())
    got = clean["notebooks"][UNIT]
    assert got["late_submission_penalty"] == 0.0 and isinstance(got["late_submission_penalty"],
                                                                float)
    assert got["grades"] == {"double_test": (2.0, False), "halve_test": (None, True)}
    assert len(got["comments"]["double"]) == gradebook.MAX_TEXT
    assert clean["timestamp"] == STAMP


def broken(change):
    data = good_data()
    change(data, data["notebooks"][UNIT])
    return data


@pytest.mark.parametrize(("change", "message"), [
    (lambda d, nb: d.update(notebooks=[]), "no notebooks"),
    (lambda d, nb: d.update(timestamp="yesterday"), "timestamp that is not a date"),
    (lambda d, nb: d["notebooks"].update(other=nb), "unknown notebooks"),
    (lambda d, nb: nb["grades"].pop("halve_test"), "grades are not the notebook's graded"),
    (lambda d, nb: nb["grades"].update(extra=(1, False)), "grades are not"),
    (lambda d, nb: nb["comments"].pop("halve"), "comments are not the notebook's answer"),
    (lambda d, nb: nb.update(late_submission_penalty=-1), "late penalty -1"),
    (lambda d, nb: nb["grades"].update(double_test=(2.5, False)), "outside 0..2.0"),
    (lambda d, nb: nb["grades"].update(double_test=(-0.5, False)), "outside"),
    (lambda d, nb: nb["grades"].update(double_test=(math.nan, False)), "outside"),
    (lambda d, nb: nb["grades"].update(double_test=(True, False)), "outside"),
    (lambda d, nb: nb["grades"].update(double_test=("2", False)), "outside"),
    (lambda d, nb: nb["grades"].update(double_test=(2, 1)), "needs_manual_grade"),
    (lambda d, nb: nb["comments"].update(halve=3), "comment of halve is not text"),
])
def test_valid_data_refuses_what_the_gradebook_does_not_allow(course_db, change, message):
    with Gradebook(course_db) as gb, pytest.raises(ValueError, match=message):
        gradebook.valid_data(gb, UNIT, broken(change))


def test_valid_notes_bounds_and_checks_the_notes():
    notes = [{"severity": "review", "kind": "k" * 50, "text": "t" * (gradebook.MAX_TEXT + 1),
              "extra": "dropped"}] * 250
    clean = gradebook.valid_notes(notes)
    assert len(clean) == 200
    assert clean[0] == {"severity": "review", "kind": "k" * 40, "text": "t" * gradebook.MAX_TEXT}
    with pytest.raises(ValueError, match="not a list"):
        gradebook.valid_notes({"severity": "zero"})
    with pytest.raises(ValueError, match="a note"):
        gradebook.valid_notes([{"severity": "fatal", "text": "x"}])


def test_has_assignment_and_dump_by_unit(course_db):
    assert gradebook.has_assignment(course_db, UNIT)
    assert not gradebook.has_assignment(course_db, "02_v")
    record_unit(course_db, "02_v", tasks=(("t", 1.0),))
    grade_as_autograde(course_db, "ann", {"double_test": 1.0, "halve_test": 0.0})
    with Gradebook(course_db) as gb:
        gb.add_submission("02_v", "bob")
    assert sorted(gradebook.dump(course_db)) == [("ann", UNIT), ("bob", "02_v")]
    assert list(gradebook.dump(course_db, units=["02_v"])) == [("bob", "02_v")]
    entry = gradebook.dump(course_db)[("ann", UNIT)]
    assert entry["notebooks"][UNIT]["grades"]["double_test"] == (1.0, None, None, False)
