"""The instructor side of the course: nbgrader configuration and commands.

``python -m grader generate|roster|collect|autograde|feedback|export|release|hub ...``
(``__main__``) drives real nbgrader, extended through its configuration
(``nbgrader_config.py``), preprocessors and plugins. The package is laid out
by stage, like nbgrader's own:

- ``course``: where a course lives (its root, folders, the environment's PATH and
  the working data in ``instructor-data/``); ``generate``: solutions/ -> exercises/;
- ``intake/``: ``roster`` (students from a CSV), ``collect``, ``zipcollect``
  (nbgrader plugins) and ``triage``: LMS exports and the exchange into
  ``instructor-data/submitted``;
- ``grading/``: ``autograde`` (the owner process), ``worker``, ``gradebook``
  (scratch gradebooks merged by the owner), ``sandbox`` (bubblewrap), ``slots``
  (kernel uids), and ``cluster``/``remote``/``version`` (grading on a Dask cluster);
- ``preprocessors/``: the classes ``nbgrader_config.py`` names: ``sanitize``,
  ``scan``, ``execute``, ``kernel``, ``probe``, ``judge`` (verdicts outside the
  student's kernel, against the ``reference`` run in a ``pristine`` kernel),
  ``verdict``, ``hide``;
- ``reporting/``: ``notes`` and ``records`` (what the grader noticed), ``feedback``,
  ``grades_csv`` (nbgrader's export plugin), ``lms`` (Canvas, Moodle), ``analytics``,
  ``summary`` and ``export`` (the export command);
- ``workshop/``: JupyterHub for a workshop on one server (accounts, spawner,
  exchange permissions, lesson sync).
"""
