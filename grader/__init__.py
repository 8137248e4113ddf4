"""The instructor side of the course: nbgrader configuration and commands.

``python -m grader generate|collect|autograde|feedback|export`` (``__main__``)
drives real nbgrader, extended through its configuration
(``nbgrader_config.py``), preprocessors and plugins:

- ``generate``: solutions/ -> exercises/, and a check that they agree;
- ``collect`` + ``zipcollect`` + ``triage``: LMS exports and the exchange
  into ``grader/submitted``, choosing the notebook of each submission;
- ``autograde`` + ``worker`` + ``gradebook``: parallel autograde into scratch
  gradebooks, merged by one owner process;
- ``sanitize``, ``scan``, ``execute``, ``kernel``, ``probe``, ``verdict``,
  ``notes``: the autograde preprocessors that survive broken and hostile
  notebooks (restored structure, tampering detection, time, memory and
  output limits);
- ``sandbox``: the bubblewrap sandbox every grading kernel runs in;
- ``feedback`` + ``hide``: feedback HTML without the hidden tests;
- ``export`` + ``summary`` + ``records``: grades.csv, the summary, the histogram.
"""
