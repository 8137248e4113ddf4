"""Per-student HTML feedback: nbgrader's ``generate_feedback`` without hidden tests.

The course configuration gives ``GenerateFeedback`` the preprocessors of
``grader.preprocessors.hide``. A submission that could not be graded (no notebook, not a
notebook, the grader failed) has no autograded notebook; it gets a short page
with its zero and the reason instead.
"""

import html

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import GenerateFeedback

from grader.reporting import records

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{unit}: feedback for {student}</title></head>
<body style="font-family: sans-serif; max-width: 50em; margin: 2em auto">
<h1>{unit} (Score: 0 / {max_score:g})</h1>
<p>Your submission could not be graded, so it scores zero:</p>
<ul>{reasons}</ul>
<p>Please talk to your instructor.</p>
</body></html>
"""


def feedback(course, unit, students=None):
    """Write feedback for ``students`` (default: everyone graded); return the pages."""
    with Gradebook(course.db_url) as gb:
        try:
            max_score = gb.find_assignment(unit).max_score
        except MissingEntry:
            raise ValueError(f"{unit} is not in the gradebook: autograde it first") from None
        graded = sorted(s.student_id for s in gb.assignment_submissions(unit))
    wanted = [s for s in graded if students is None or s in students]
    with_notebook = [s for s in wanted if any(course.folder("autograded", s, unit).glob("*.ipynb"))]
    errors = []
    for student in with_notebook:
        result = course.run_converter(GenerateFeedback, assignment_id=unit, student_id=student)
        if not result["success"]:
            errors.append((student, result.get("error", "").strip().splitlines()[-1:]))
    for student in sorted(set(wanted) - set(with_notebook)):
        reasons = [n["text"] for n in records.status(course, unit, student)["notes"]
                   if n["severity"] == "zero"] or ["no gradable notebook"]
        folder = course.folder("feedback", student, unit)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{unit}.html").write_text(PAGE.format(
            unit=html.escape(unit), student=html.escape(student), max_score=max_score,
            reasons="".join(f"<li>{html.escape(r)}</li>" for r in reasons)))
    pages = sorted(p for s in wanted for p in course.folder("feedback", s, unit).glob("*.html"))
    return pages, errors
