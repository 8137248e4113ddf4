"""What the grader noticed about one submission, kept in the notebook's metadata.

Every preprocessor of the grading pipeline records what it finds in
``nb.metadata["grader"]["notes"]`` of the notebook it works on, so the notes
travel from the sanitising pass to the executing pass and end up in the
autograded notebook (where ``export`` and ``feedback`` read them). A note is
``{"severity": ..., "kind": ..., "text": ...}`` with one of three severities:

- ``zero``: the grader set the notebook's score to zero for this reason;
- ``review``: the score stands, but a person should look at the submission;
- ``info``: something was repaired or is worth knowing; nothing to do.

The key is cleared first thing (``reset``), so a student cannot plant notes.
"""

KEY = "grader"
SEVERITIES = ("zero", "review", "info")


def reset(nb):
    """Forget any notes the notebook carries (students could have written some)."""
    nb.metadata[KEY] = {"notes": []}


def add(nb, severity, kind, text):
    """Record one note (once: an identical note is not repeated)."""
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")
    notes = nb.metadata.setdefault(KEY, {}).setdefault("notes", [])
    note = {"severity": severity, "kind": kind, "text": text}
    if note not in notes:
        notes.append(note)


def get(nb):
    """The notes recorded so far, as a list of plain dicts."""
    return [dict(n) for n in nb.metadata.get(KEY, {}).get("notes", [])]


def worst(notes):
    """The most serious severity among ``notes`` (None when there are none)."""
    found = {n["severity"] for n in notes}
    return next((s for s in SEVERITIES if s in found), None)


def cell_label(cell, index):
    """How notes name a cell: its nbgrader id, or its position."""
    gid = cell.metadata.get("nbgrader", {}).get("grade_id")
    return f"cell `{gid}`" if gid else f"cell {index} (not an exercise cell)"
