"""Where things are in the repository and beside it."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LESSONS = ROOT / "lessons"
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
GRADER = ROOT / "grader"
FIXTURES = ROOT / "tests" / "fixtures"
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist.npz"


def lesson(unit):
    """Path of the lesson notebook of ``unit`` (e.g. "01_tensors")."""
    return LESSONS / f"{unit}.ipynb"


def solution(unit):
    """Path of the graded source notebook of ``unit``."""
    return SOLUTIONS / unit / f"{unit}.ipynb"


def exercise(unit):
    """Path of the committed student notebook of ``unit``."""
    return EXERCISES / unit / f"{unit}.ipynb"
