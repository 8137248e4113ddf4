"""Text a submission or a roster controls, made safe for the file it lands in.

Student ids, names, emails, LMS entry names and error messages reach Markdown
pages (``summary.md``, the feedback page's results table, rendered by
nbconvert) and CSV files that instructors open in a spreadsheet. Each sink has
one rule here:

- ``markdown_text``: one line of plain text in the middle of a Markdown line.
  The characters that open a link or image (``[ ]``), raw HTML or an autolink
  (``< >``), an entity (``&``), a code span, ``*`` emphasis, maths (``$``) or a table
  cell boundary (``|``) are backslash-escaped (CommonMark lets any ASCII
  punctuation be escaped), so the text renders as itself and nothing else.
- ``csv_cell``: OWASP's rule against formula injection ("CSV Injection"): a
  cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
  gets a leading ``'``, so a spreadsheet shows it as text instead of running it.
  Values that an LMS must match exactly (ids, emails) are refused at roster
  intake instead (``grader.intake.roster``), so they never need this.

HTML pages use ``html.escape``.
"""

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<>|&$])")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def markdown_text(text):
    """``text`` as one line of literal Markdown text (newlines become spaces)."""
    line = " ".join(str(text).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", line)


def csv_cell(value):
    """``value`` (any) as a CSV cell a spreadsheet cannot run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_row(values):
    """``csv_cell`` of every value of a list row, or of a dict row's values."""
    if isinstance(values, dict):
        return {key: csv_cell(value) for key, value in values.items()}
    return [csv_cell(value) for value in values]
