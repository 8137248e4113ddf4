"""Test helpers: real Jupyter kernels and the real nbgrader command line."""
