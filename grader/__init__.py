"""The instructor side of the course: nbgrader configuration and commands.

``python -m grader generate|collect|autograde|feedback|export`` (``__main__``)
drives real nbgrader, extended through its configuration
(``nbgrader_config.py``), preprocessors and plugins. The package is laid out
by stage, like nbgrader's own:

- ``course``: where a course lives (its root, folders and working data in
  ``instructor-data/``); ``generate``: solutions/ -> exercises/ and a check;
- ``intake/``: ``collect``, ``zipcollect`` (nbgrader plugins) and ``triage``:
  LMS exports and the exchange into ``instructor-data/submitted``;
- ``grading/``: ``autograde`` (the owner process), ``worker``, ``gradebook``
  (scratch gradebooks merged by the owner) and ``sandbox`` (bubblewrap);
- ``preprocessors/``: the classes ``nbgrader_config.py`` names: ``sanitize``,
  ``scan``, ``execute``, ``kernel``, ``probe``, ``verdict``, ``hide``;
- ``reporting/``: ``notes`` and ``records`` (what the grader noticed),
  ``feedback``, ``grades_csv`` (nbgrader's export plugin) and ``summary``.
"""
