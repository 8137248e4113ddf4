"""The last word on a notebook: a submission caught tampering scores zero.

``ApplyVerdict`` runs after nbgrader's ``SaveAutoGrades``. When any note has
severity ``zero`` (the static scan or the runtime probe caught code that
changes what the tests rely on), every grade of the notebook is set to zero
and marked as needing a manual grade, and every answer cell's comment gives
the reason, so the formgrader lists it too; a person can restore points
there. The notes stay in the autograded notebook.
"""

from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor

from grader.grading.gradebook import zero_notebook
from grader.reporting import notes


class ApplyVerdict(NbGraderPreprocessor):
    """Zero the notebook's grades when a ``zero`` note says so."""

    def preprocess(self, nb, resources):
        found = notes.get(nb)
        verdict = notes.worst(found)
        nb.metadata.setdefault(notes.KEY, {})["verdict"] = verdict or "clean"
        if verdict != "zero":
            return nb, resources
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            submitted = gb.find_submission_notebook(
                info["notebook"], info["assignment"], info["student"])
            reason = next(n["text"] for n in found if n["severity"] == "zero")
            zero_notebook(submitted, f"Score set to zero by the grader: {reason}")
            gb.db.commit()
        return nb, resources
