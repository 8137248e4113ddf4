"""``solutions/`` -> ``exercises/`` with nbgrader, and a check that they agree.

``generate`` runs nbgrader's ``GenerateAssignment`` converter (clears the
solutions and hidden tests, locks the read-only cells, records every graded
cell in the gradebook). ``stale`` generates into a scratch folder with a
scratch gradebook and compares with the committed student versions, touching
nothing. ``register`` records a unit in the gradebook without writing
``exercises/``; ``ensure_registered`` does that only where the gradebook lacks the
unit (what collect and autograde need on a fresh gradebook).
"""

import json
import tempfile
from pathlib import Path

from nbgrader.converters import GenerateAssignment

from grader.grading import gradebook


def _run(course, unit, **overrides):
    course.require_unit(unit)
    result = course.run_converter(GenerateAssignment, assignment_id=unit, **overrides)
    if not result["success"]:
        raise RuntimeError(f"generating {unit} failed:\n{result.get('log', '')}\n"
                           f"{result.get('error', '')}")
    return result


def generate(course, unit):
    """Write ``exercises/<unit>`` from ``solutions/<unit>`` and record it in the gradebook."""
    _run(course, unit)
    return course.folder("release", unit=unit)


def register(course, unit):
    """Record ``unit``'s cells in the course gradebook, leaving ``exercises/`` alone."""
    with tempfile.TemporaryDirectory() as scratch:
        _run(course, unit, release_directory=scratch)


def ensure_registered(course, unit):
    """``register`` ``unit`` unless the course gradebook holds it already (then nothing
    changes: a unit graded under a name it no longer has keeps its entries)."""
    if not gradebook.has_assignment(course.db_url, unit):
        register(course, unit)


def _content(path):
    if path.suffix == ".ipynb":
        return json.loads(path.read_text())
    return path.read_bytes()


def stale(course, unit):
    """Files of ``exercises/<unit>`` that differ from what nbgrader generates now
    (empty list: up to date)."""
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        _run(course, unit, release_directory=str(scratch / "release"),
             db_url=f"sqlite:///{scratch / 'gradebook.db'}")
        fresh_dir = scratch / "release" / unit
        committed_dir = course.folder("release", unit=unit)
        names = {p.relative_to(fresh_dir) for p in fresh_dir.rglob("*") if p.is_file()}
        if committed_dir.is_dir():
            names |= {p.relative_to(committed_dir) for p in committed_dir.rglob("*")
                      if p.is_file() and ".ipynb_checkpoints" not in p.parts}
        differ = []
        for name in sorted(names):
            fresh, committed = fresh_dir / name, committed_dir / name
            if not (fresh.is_file() and committed.is_file()) or (
                    _content(fresh) != _content(committed)):
                differ.append(str(Path(unit) / name))
        return differ
