"""The grader's own records, beside nbgrader's gradebook.

``instructor-data/reports/<unit>/collect.json`` (written by ``collect``) and
``instructor-data/reports/<unit>/status.json`` (written by ``autograde``) map each
student to ``{"status": ..., "notes": [...]}`` (notes as in
``grader.reporting.notes``). Only the instructor's commands write them; nothing a
student submits can. Where autograde ran as plain ``nbgrader autograde``
there is no status file, and ``status`` reads the notes that the pipeline
left in the autograded notebooks instead.
"""

import json

import nbformat

from grader.course import reports_folder
from grader.reporting import notes as notes_mod


def _path(root, unit, name):
    return reports_folder(root) / unit / name


def read(root, unit, name):
    """The record file ``name`` of ``unit`` ({student: record}; empty when there is none)."""
    path = _path(root, unit, name)
    return json.loads(path.read_text()) if path.is_file() else {}


def update(root, unit, name, entries):
    """Merge ``entries`` ({student: record}) into the record file ``name``."""
    path = _path(root, unit, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = read(root, unit, name)
    kept.update(entries)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(dict(sorted(kept.items())), indent=1))
    tmp.replace(path)


def status(course, unit, student):
    """{"status", "notes"} of a student's submission of ``unit``."""
    found = read(course.root, unit, "status.json").get(student)
    if found is not None:
        return found
    collected = read(course.root, unit, "collect.json").get(student, {}).get("notes", [])
    graded = graded_notes(course, unit, student)
    return {"status": "graded" if graded or collected else "unknown",
            "notes": collected + graded}


def graded_notes(course, unit, student):
    """The notes the grading pipeline left in every autograded notebook of the
    submission (an autograded notebook that cannot be read is itself a note)."""
    found = []
    for path in sorted(course.folder("autograded", student, unit).glob("*.ipynb")):
        try:
            found.extend(notes_mod.get(nbformat.read(str(path), as_version=4)))
        except Exception as exc:  # nbformat raises many kinds on a broken file
            found.append({"severity": "review", "kind": "grader",
                          "text": f"cannot read {path.name}: {exc}"})
    return found
