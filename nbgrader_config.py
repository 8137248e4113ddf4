# The course's nbgrader configuration lives in grader/; this file only points there
# so that `nbgrader ...` and the formgrader work from the repository root.
c = get_config()  # noqa: F821
load_subconfig("grader/nbgrader_config.py")  # noqa: F821
