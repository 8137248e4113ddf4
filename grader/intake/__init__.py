"""Intake: submissions from LMS exports and nbgrader's exchange into the course."""
