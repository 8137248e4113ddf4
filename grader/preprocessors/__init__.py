"""nbgrader preprocessors of the course (the classes nbgrader_config.py names)."""
