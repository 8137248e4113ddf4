"""Grading: the owner process, its workers, their gradebooks and the kernel sandbox."""
