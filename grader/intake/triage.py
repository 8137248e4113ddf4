"""Decide which file of a submission is the notebook to grade, or why there is none.

An LMS export or an exchange folder holds whatever the student uploaded: the
notebook under another name (``01_tensors (1).ipynb``), two notebooks, a
file that is empty or not JSON, checkpoints, nothing at all. ``choose``
picks the notebook to grade and says what it did; ``problem`` says why one
file cannot be graded.
"""

import json
import os
from pathlib import Path

import nbformat

SKIP_PARTS = (".ipynb_checkpoints", "__MACOSX")
MAX_BYTES = 64 * 2**20


def problem(path):
    """Why the file at ``path`` is not a gradable notebook (None if it is one)."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            return f"is larger than {MAX_BYTES // 2**20} MiB"
        raw = path.read_bytes()
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if not raw.strip():
        return "is empty"
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return f"is not valid JSON ({exc})"
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        return "is JSON but not a notebook"
    try:
        nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as exc:  # nbformat raises many kinds on malformed notebooks
        return f"is not a valid notebook ({type(exc).__name__}: {exc})"
    return None


def candidates(folder):
    """Every .ipynb file under ``folder`` (checkpoints and macOS debris left out; links,
    and anything under a linked folder, are never candidates)."""
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*.ipynb")
                  if not linked(folder, p) and p.is_file()
                  and not any(part in SKIP_PARTS or part.startswith("._")
                              for part in p.relative_to(folder).parts))


def linked(folder, path):
    """Whether ``path`` or a folder between ``folder`` and it is a link."""
    rel = Path(path).relative_to(folder)
    return any((Path(folder) / Path(*rel.parts[: i + 1])).is_symlink()
               for i in range(len(rel.parts)))


def links(folder):
    """The links anywhere under ``folder`` (relative paths), without following any."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            if Path(dirpath, name).is_symlink():
                found.append(str(Path(dirpath, name).relative_to(folder)))
    return sorted(found)


def notebook_ids(path):
    """The nbgrader cell ids of the notebook at ``path`` (empty if unreadable)."""
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:
        return set()
    return {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells} - {None}


def grade_ids(release_folder, unit):
    """The cell ids of the unit's released notebook."""
    return notebook_ids(Path(release_folder) / f"{unit}.ipynb")


def choose(files, name, expected_ids=()):
    """Pick the file to grade as ``name`` (e.g. "01_tensors.ipynb") among ``files``.

    Returns ``(path or None, status, notes)``: status is "ok", "unreadable"
    or "missing"; notes are ``(severity, text)`` pairs. Rules: a readable file
    with exactly the expected name wins; else the only readable notebook;
    else the readable notebook holding most of the unit's cell ids (then the
    newest, then by name). Unreadable files are reported, never graded.
    """
    files = [Path(f) for f in files]
    problems = {f: problem(f) for f in files}
    readable = [f for f in files if problems[f] is None]
    notes = []
    if not files:
        return None, "missing", [("zero", f"the submission has no notebook ({name} expected)")]
    if not readable:
        named = [f for f in files if f.name == name] or files
        reasons = "; ".join(f"{f.name} {problems[f]}" for f in named)
        return named[0], "unreadable", [("zero", f"no gradable notebook: {reasons}")]
    exact = [f for f in readable if f.name == name]
    if exact:
        chosen = exact[0]
    elif len(readable) == 1:
        chosen = readable[0]
    else:
        expected = set(expected_ids)
        chosen = max(readable, key=lambda f: (len(notebook_ids(f) & expected), f.stat().st_mtime,
                                              [-ord(ch) for ch in f.name]))
    if chosen.name != name:
        notes.append(("info", f"the notebook was submitted as `{chosen.name}`; graded as {name}"))
    others = [f for f in files if f != chosen]
    if others:
        listed = ", ".join(f"`{f.name}`" + (f" ({problems[f]})" if problems[f] else "")
                           for f in others)
        notes.append(("review", f"{len(files)} notebooks submitted: graded `{chosen.name}`, "
                                f"ignored {listed}"))
    return chosen, "ok", notes
