"""Feedback that shows scores and messages but never the hidden tests.

nbgrader's feedback is the autograded notebook as HTML, and autograde put
the hidden tests back into every test cell, so its feedback shows them
(nbgrader issues #917 and #1363); the tracebacks of failed tests quote them
too. Two preprocessors for ``GenerateFeedback`` (after ``GetGrades``):

``HideHiddenTests`` cuts every ``### BEGIN HIDDEN TESTS`` ... ``### END
HIDDEN TESTS`` region out of the test cells and keeps of every code cell's
outputs only a test cell's error message (``AssertionError: ...``, written by
the judge, cut to ``MAX_MESSAGE`` characters), with any hidden-test line
scrubbed from it. Nothing a cell printed or displayed reaches the feedback: a
submission can read the hidden tests while they run and print them encoded
(base64, reversed), which no scrubbing recognises; the student's own outputs
are in the student's own notebook.

``SummaryCell`` puts a table at the top: every test cell with its score and
message, and what the grader noticed about the submission.
"""

import nbformat
from nbformat.v4 import new_markdown_cell
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from grader.reporting import notes
from grader.reporting.escape import markdown_text

PLACEHOLDER = "# (hidden tests: not shown)"
MAX_MESSAGE = 1500


def split_hidden(source, begin="BEGIN HIDDEN TESTS", end="END HIDDEN TESTS"):
    """(source without hidden regions, list of the hidden lines)."""
    kept, hidden, inside = [], [], False
    for line in source.splitlines():
        if begin in line:
            inside = True
            kept.append(PLACEHOLDER)
        elif end in line:
            inside = False
        elif inside:
            hidden.append(line)
        else:
            kept.append(line)
    return "\n".join(kept), hidden


def message(cell):
    """The one-line outcome of an executed test cell."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            ename, evalue = out.get("ename", "Error"), str(out.get("evalue", "")).strip()
            if evalue:
                return f"{ename}: {evalue}"
            return f"{ename} (a check without a message failed)" if (
                ename == "AssertionError") else ename
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            return "wrote to stderr (a test cell must not)"
    return "passed"


class HideHiddenTests(NbGraderPreprocessor):
    """Remove the hidden tests, and every trace of them, from the feedback."""

    begin_test_delimeter = Unicode("BEGIN HIDDEN TESTS").tag(config=True)
    end_test_delimeter = Unicode("END HIDDEN TESTS").tag(config=True)

    def preprocess(self, nb, resources):
        hidden = set()
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            if utils.is_grade(cell):
                cell.source, lines = split_hidden(cell.source, self.begin_test_delimeter,
                                                  self.end_test_delimeter)
                hidden.update(line.strip() for line in lines if line.strip())
            cell.outputs = [_message_only(o) for o in cell.get("outputs", [])
                            if utils.is_grade(cell) and o.get("output_type") == "error"][:1]
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                _scrub(out, hidden)
        return nb, resources


def _message_only(out):
    ename = str(out.get("ename", "Error"))[:100]
    evalue = str(out.get("evalue", ""))
    if len(evalue) > MAX_MESSAGE:
        evalue = evalue[:MAX_MESSAGE] + " ..."
    out = {**out, "ename": ename, "evalue": evalue}
    out["traceback"] = [f"{ename}: {evalue}" if evalue else ename]
    return nbformat.from_dict(out)


def _scrub_text(text, hidden):
    lines = []
    for line in text.split("\n"):
        bare = line.strip()
        if bare in hidden or any(len(h) >= 12 and h in line for h in hidden):
            line = "[hidden test line]"
        lines.append(line)
    return "\n".join(lines)


def _scrub(out, hidden):
    if not hidden:
        return
    if "text" in out:
        out["text"] = _scrub_text(out["text"], hidden)
    for key in ("evalue",):
        if key in out:
            out[key] = _scrub_text(str(out[key]), hidden)
    if "traceback" in out:
        out["traceback"] = [_scrub_text(t, hidden) for t in out["traceback"]]
    for mime, value in out.get("data", {}).items():
        if mime.startswith("text/") and isinstance(value, str):
            out["data"][mime] = _scrub_text(value, hidden)


class SummaryCell(NbGraderPreprocessor):
    """A first cell listing each test's score and message and the grader's notes."""

    def preprocess(self, nb, resources):
        rows = []
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and utils.is_grade(cell):
                score = meta.get("score")
                shown = "–" if score is None else f"{float(score):g}"
                said = message(cell)
                if said == "passed" and score is not None and float(score) == 0:
                    said = "passed, but the score was set to zero (see below)"
                rows.append(f"| `{meta.get('grade_id')}` | {shown} / {float(meta['points']):g} "
                            f"| {_cell_text(said)} |")
        lines = ["## Your results", "", "| test | score | message |", "|---|---|---|", *rows]
        found = notes.get(nb)
        if found:
            lines += ["", "**What the grader noticed**", ""]
            lines += [f"- {_WORDS[n['severity']]}: {_cell_text(n['text'])}" for n in found]
        nb.cells.insert(0, new_markdown_cell("\n".join(lines)))
        return nb, resources


_WORDS = {"zero": "Score set to zero", "review": "To be looked at by a person", "info": "Note"}


def _cell_text(text):
    first = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return markdown_text(first[:300])
