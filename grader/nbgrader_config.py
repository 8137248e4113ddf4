"""nbgrader configuration of the course.

The course root is the repository: ``solutions/`` is nbgrader's source folder,
``exercises/`` its release folder; submissions, autograded copies, feedback
and the gradebook live in ``instructor-data/`` at the root (ignored by git).
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
c.CourseDirectory.submitted_directory = "instructor-data/submitted"
c.CourseDirectory.autograded_directory = "instructor-data/autograded"
c.CourseDirectory.feedback_directory = "instructor-data/feedback"
os.makedirs(os.path.join(c.CourseDirectory.root, "instructor-data"), exist_ok=True)
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(c.CourseDirectory.root, "instructor-data",
                                                       "gradebook.db")
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "logs", "*.keras"]

# nbgrader's exchange (release, submit, collect, feedback): its root is set here and nowhere
# else. Every command reads it from this configuration (grader.course.Course.exchange_root),
# and the workshop hub gives participants' servers the same value.
c.Exchange.root = "/srv/nbgrader/exchange"

# Student notebooks carry no outputs; a stub that raises marks unsolved work.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearOutput.enabled = True

# Training cells need more than nbgrader's default 30 s per cell.
c.Execute.timeout = 600
c.Execute.interrupt_on_timeout = True

# --- Instructor pipeline (`python -m grader ...`, see README "Instructors") ---------------
# nbgrader's own commands and the formgrader use these too. Autograde runs through the
# course's hardened preprocessors (grader/*.py): broken and hostile submissions end with
# a score and a stated reason, never a hang.
c.Autograde.sanitize_preprocessors = [
    "grader.preprocessors.sanitize.InspectSubmission",  # notes what the student changed
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",  # a copied cell: the last copy counts
    "grader.preprocessors.sanitize.RestoreCells",  # only released metadata; deleted cells put back
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",  # tests and read-only cells from the gradebook
    "grader.preprocessors.scan.ScanStudentCode",  # code that tampers with the tests
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "grader.preprocessors.execute.GuardedExecute",  # time, memory and output limits; runtime probe
    "grader.preprocessors.judge.Judge",  # test cells judged outside the kernel (dlcourse.checks)
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "grader.preprocessors.verdict.ApplyVerdict",  # tampering: zero, with the reason
    "nbgrader.preprocessors.CheckCellMetadata",
]
# Limits per unit, in seconds: each 5-10 times what the solution needs on 2 busy cores
# (the first cell imports TensorFlow; 03, 04, 07 and 08 train).
# Other units: 600 s a cell, 3600 in all.
c.GuardedExecute.cell_timeouts = {
    "01_tensors": 120, "02_graphs": 120, "03_learning": 300, "04_fully_connected": 300,
    "05_convolution": 120, "06_shapes_and_parameters": 120, "07_pooling_and_lenet": 600,
    "08_training_well": 600,
}
c.GuardedExecute.notebook_timeouts = {
    "01_tensors": 600, "02_graphs": 600, "03_learning": 900, "04_fully_connected": 900,
    "05_convolution": 600, "06_shapes_and_parameters": 600, "07_pooling_and_lenet": 1800,
    "08_training_well": 1800,
}
c.LimitedKernelManager.memory_limit_mb = 6144  # per grading kernel (TensorFlow needs ~2.5 GB)

# Validate's messages: "name: expected ..., got ..." must not be cut at nbgrader's 90 columns.
c.Validator.width = 200

# Feedback shows each test's score and message, never the hidden tests (nbgrader #917).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "grader.preprocessors.hide.HideHiddenTests",
    "grader.preprocessors.hide.SummaryCell",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# LMS exports: one zip, folder or notebook per student in instructor-data/incoming/UNIT/archive.
c.ZipCollectApp.downloaded_directory = "instructor-data/incoming"
c.ZipCollectApp.extractor_plugin = "grader.intake.zipcollect.SubmissionExtractor"
c.ZipCollectApp.collector_plugin = "grader.intake.zipcollect.SubmissionCollector"
c.ExportApp.plugin_class = "grader.reporting.grades_csv.GradesCsvExportPlugin"
