"""nbgrader configuration of the course.

The course root is the repository: ``solutions/`` is nbgrader's source folder,
``exercises/`` its release folder; submissions, autograded copies, feedback
and the gradebook live under ``grader/`` (none of them is committed).
The file at the repository root loads this one, so ``nbgrader`` commands and
the formgrader work when started from the repository root.
"""

import os

c = get_config()  # noqa: F821 (injected by traitlets)

here = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = os.path.dirname(here)
c.CourseDirectory.course_id = "tensors-to-lenet"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = "grader/submitted"
c.CourseDirectory.autograded_directory = "grader/autograded"
c.CourseDirectory.feedback_directory = "grader/feedback"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(here, "gradebook.db")
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "logs", "*.keras"]

# Student notebooks carry no outputs; a stub that raises marks unsolved work.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearOutput.enabled = True

# Training cells need more than nbgrader's default 30 s per cell.
c.Execute.timeout = 600
c.Execute.interrupt_on_timeout = True
