"""Repair a submitted notebook's structure before nbgrader restores and runs it.

Two preprocessors frame nbgrader's own sanitising steps (``DeduplicateIds``
keeps the *last* copy of a duplicated ``grade_id``; ``OverwriteCells``
restores the content, type and lock of every known cell from the gradebook):

``InspectSubmission`` (first) clears any notes a student planted, drops nbgrader
metadata that names no cell (``DeduplicateIds`` fails with a ``KeyError`` on a
cell marked locked, graded or solution without a ``grade_id``), and writes down,
against the released student notebook, what the submission changed: edited or
deleted tests, edited read-only cells, copied cells (nbgrader issue #1083),
cells turned into markdown, added cells.

``RestoreCells`` (after ``DeduplicateIds``) makes the structure trustworthy:
it strips nbgrader metadata that no released cell has (a student can write
``"locked": true`` or ``"grade": true`` on a cell of their own), resets the
metadata of known cells to the released one, and puts back every deleted
test, read-only and solution cell where the released notebook has it, so
that nbgrader grades the original tests (a deleted test would otherwise just
be missing, and a deleted set-up cell would break every later cell).
"""

import copy
import os

import nbformat
from nbformat.corpus.words import generate_corpus_id
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor

from grader.reporting import notes

_cache = {}


def release_notebook(config, resources):
    """The released (student) version of the notebook being graded, or None."""
    coursedir = CourseDirectory(config=config)
    info = resources["nbgrader"]
    folder = coursedir.format_path(coursedir.release_directory, ".", info["assignment"])
    path = os.path.join(folder, f"{info['notebook']}.ipynb")
    if not os.path.isfile(path):
        return None
    key = (path, os.path.getmtime(path))
    if key not in _cache:
        _cache.clear()
        _cache[key] = nbformat.read(path, as_version=4)
    return _cache[key]


def _gid(cell):
    meta = cell.metadata.get("nbgrader", {})
    gid = meta.get("grade_id") if isinstance(meta, dict) else None
    return gid if isinstance(gid, str) else None


def _role(meta):
    if meta.get("grade") and not meta.get("solution"):
        return "test"
    if meta.get("solution"):
        return "solution"
    return "read-only" if meta.get("locked") else "other"


class InspectSubmission(NbGraderPreprocessor):
    """Record how the submission's structure differs from the released notebook."""

    def preprocess(self, nb, resources):
        notes.reset(nb)
        nameless = 0
        for cell in nb.cells:
            if "nbgrader" in cell.metadata and not _gid(cell):
                del cell.metadata["nbgrader"]
                nameless += 1
        if nameless:
            notes.add(nb, "info", "unknown-id", f"{nameless} cell(s) carried nbgrader metadata "
                      "without an id; they were graded as ordinary cells")
        ref = release_notebook(self.config, resources)
        if ref is None:
            self.log.warning("No released notebook to compare the submission with")
            return nb, resources
        released = {_gid(c): c for c in ref.cells if _gid(c)}
        released_sources = {c.source for c in ref.cells}
        seen = {}
        added = 0
        for cell in nb.cells:
            gid = _gid(cell)
            if gid in released:
                seen[gid] = seen.get(gid, 0) + 1
                self._compare(nb, cell, released[gid])
            elif cell.cell_type == "code" and cell.source.strip() and (
                    cell.source not in released_sources):
                added += 1
        for gid, count in seen.items():
            if count > 1:
                notes.add(nb, "info", "duplicate", f"cell `{gid}` appears {count} times "
                          "(copied); the last copy is graded")
        for gid, cell in released.items():
            if gid not in seen:
                role = _role(cell.metadata.nbgrader)
                severity = "review" if role == "test" else "info"
                notes.add(nb, severity, "deleted", f"{role} cell `{gid}` was deleted; "
                          "the original was put back")
        if added:
            notes.add(nb, "info", "added", f"{added} code cell(s) were added")
        return nb, resources

    def _compare(self, nb, cell, original):
        gid, role = _gid(cell), _role(original.metadata.nbgrader)
        if cell.cell_type != original.cell_type:
            notes.add(nb, "info", "cell-type", f"{role} cell `{gid}` was turned into "
                      f"{cell.cell_type}; it was turned back into {original.cell_type}")
        if role in ("test", "read-only") and cell.source != original.source:
            severity = "review" if role == "test" else "info"
            notes.add(nb, severity, "edited", f"{role} cell `{gid}` was edited; "
                      "the original was put back")


class RestoreCells(NbGraderPreprocessor):
    """Trust only released nbgrader metadata; put deleted cells back in place."""

    def preprocess(self, nb, resources):
        ref = release_notebook(self.config, resources)
        if ref is None:
            return nb, resources
        order = [_gid(c) for c in ref.cells if _gid(c)]
        released = {_gid(c): c for c in ref.cells if _gid(c)}
        for cell in nb.cells:
            if "nbgrader" not in cell.metadata:
                continue
            gid = _gid(cell)
            if gid in released:
                cell.metadata["nbgrader"] = copy.deepcopy(released[gid].metadata["nbgrader"])
            else:
                del cell.metadata["nbgrader"]
                if gid:
                    notes.add(nb, "info", "unknown-id", f"a cell claimed the unknown id "
                              f"`{gid}`; it was graded as an ordinary cell")
        for i, gid in enumerate(order):
            present = {_gid(c): k for k, c in enumerate(nb.cells) if _gid(c)}
            if gid in present:
                continue
            before = [present[g] for g in order[:i] if g in present]
            position = max(before) + 1 if before else 0
            cell = copy.deepcopy(released[gid])
            if "id" in cell:
                cell["id"] = generate_corpus_id()
            nb.cells.insert(position, cell)
        return nb, resources
