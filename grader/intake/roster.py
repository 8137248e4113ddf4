"""A class roster: read a CSV of students and put their names and emails in the gradebook.

The file has a header row with (at least) the columns ``id``, ``name`` and
``email``, in any order and any case; other columns are ignored. ``id`` is the
student's id in the gradebook (``grader.course.STUDENT_ID``: letters, digits,
``_ . @ -``, at most 64 characters, starting with a letter or digit); ``name``
is split into first and last name (``"Doe, Jane"``: last name before the
comma; ``"Jane Doe"``: the last word is the last name, so write names with
several last names as ``"van der Berg, Jan"``); ``email`` may be empty. The
file may come from a spreadsheet: UTF-8 with or without a byte-order mark,
commas, semicolons or tabs, quoted fields with doubled quotes and line breaks
inside them, as Excel's and LibreOffice's "CSV" writes them.

A name or email may not start with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return: a spreadsheet would run it as a formula, and the LMS files
(``grader.reporting.lms``) must carry an email unchanged for the LMS to match it.

``read_roster`` checks the whole file and raises one ``ValueError`` that names
every bad line; ``add_to_gradebook`` adds the students or updates their names
and emails (nbgrader's ``Gradebook.update_or_create_student``), never removes one.
"""

import csv
import io
from pathlib import Path

from nbgrader.api import Gradebook

from grader.course import STUDENT_ID
from grader.reporting.escape import FORMULA_START

COLUMNS = ("id", "name", "email")


def split_name(name):
    """(first_name, last_name) of a full name: ``"Doe, Jane"`` or ``"Jane Doe"``."""
    name = " ".join(name.split())
    if "," in name:
        last, first = (part.strip() for part in name.split(",", 1))
        return first, last
    first, _, last = name.rpartition(" ")
    return (first, last) if first else (last, "")


def _delimiter(text):
    """The delimiter of the header line: the first of ``,;<tab>`` it holds, else ``,``.
    Only the delimiter is guessed; quoting is always the spreadsheets' (doubled quotes)."""
    header = text.split("\n", 1)[0]
    return min((header.index(d), d) for d in ",;\t" if d in header)[1] if any(
        d in header for d in ",;\t") else ","


def _records(reader):
    """(line where the record starts, record) of a csv reader's records."""
    start = reader.line_num + 1
    for values in reader:
        yield start, values
        start = reader.line_num + 1


def read_roster(path):
    """The students of the roster CSV at ``path``, in file order:
    ``[{"id", "first_name", "last_name", "email"}]`` (empty values are ``None``).
    Raises ``ValueError`` naming every problem (missing columns, an invalid or
    duplicate id, an invalid or duplicate email) with its line number."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"roster {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"roster {path} is not UTF-8 text ({exc}): save it from your "
                         "spreadsheet as 'CSV UTF-8'") from None
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=_delimiter(text))
    header = next(reader, None)
    if not header:
        raise ValueError(f"roster {path} is empty: it needs a header row id,name,email "
                         "and one row per student")
    names = [h.strip().lower() for h in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise ValueError(f"roster {path} has no column {', '.join(missing)} (its header is "
                         f"{','.join(header)}): the first row must name the columns "
                         "id, name, email")
    where = {c: names.index(c) for c in COLUMNS}
    rows, problems, seen_ids, seen_emails = [], [], {}, {}
    for line, values in _records(reader):
        if not any(v.strip() for v in values):
            continue
        values = values + [""] * (len(names) - len(values))
        sid, name, email = (values[where[c]].strip() for c in COLUMNS)
        if not STUDENT_ID.match(sid):
            problems.append(f"line {line}: id {sid!r} is not a valid student id (letters, "
                            "digits, _ . @ -, at most 64 characters, starting with a letter "
                            "or digit)")
        elif sid in seen_ids:
            problems.append(f"line {line}: id {sid!r} is already on line {seen_ids[sid]}")
        else:
            seen_ids[sid] = line
        if email and (email.count("@") != 1 or " " in email or email.endswith("@")
                      or email.startswith(FORMULA_START)):
            problems.append(f"line {line}: email {email!r} is not an email address")
        elif email and email.lower() in seen_emails:
            problems.append(f"line {line}: email {email!r} is already on line "
                            f"{seen_emails[email.lower()]}")
        elif email:
            seen_emails[email.lower()] = line
        if name.startswith(FORMULA_START):
            problems.append(f"line {line}: name {name!r} starts with {name[0]!r}, which a "
                            "spreadsheet runs as a formula: write the name without it")
        first, last = split_name(name)
        rows.append({"id": sid, "first_name": first or None, "last_name": last or None,
                     "email": email or None})
    if problems:
        raise ValueError(f"roster {path} has {len(problems)} problem(s); fix them and run "
                         "again (nothing was changed):\n  " + "\n  ".join(problems))
    return rows


def add_to_gradebook(course, rows):
    """Add the students ``rows`` (as ``read_roster`` returns them) to the gradebook of
    ``course``, or update the names and emails of those already there. Returns
    ``{"added": [ids], "updated": [ids], "unchanged": [ids]}``."""
    out = {"added": [], "updated": [], "unchanged": []}
    with Gradebook(course.db_url) as gb:
        known = {s.id: s for s in gb.students}
        for row in rows:
            fields = {k: row.get(k) for k in ("first_name", "last_name", "email")}
            old = known.get(row["id"])
            if old is None:
                kind = "added"
            elif all(getattr(old, k) == v for k, v in fields.items()):
                kind = "unchanged"
            else:
                kind = "updated"
            if kind != "unchanged":
                gb.update_or_create_student(row["id"], **fields)
            out[kind].append(row["id"])
    return out
