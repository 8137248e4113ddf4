"""Roster files: reading them (with clear errors) and putting them in a real gradebook."""

import subprocess
import sys

import pytest
from nbgrader.api import Gradebook
from support.grading import new_gradebook

from grader.course import Course, write_scratch_config
from grader.intake.roster import add_to_gradebook, read_roster, split_name


@pytest.fixture()
def course(tmp_path):
    new_gradebook(write_scratch_config(tmp_path / "course"))
    return Course(tmp_path / "course")


def roster(tmp_path, text, name="roster.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


@pytest.mark.parametrize("name, first, last", [
    ("Jane Doe", "Jane", "Doe"),
    ("Doe, Jane", "Jane", "Doe"),
    ("  Mary   Ann  Smith ", "Mary Ann", "Smith"),
    ("van der Berg, Jan", "Jan", "van der Berg"),
    ("Cher", "Cher", ""),
    ("", "", ""),
])
def test_split_name(name, first, last):
    assert split_name(name) == (first, last)


def test_read_roster_any_column_order_bom_and_semicolons(tmp_path):
    path = roster(tmp_path, "Email;ID;Name;section\r\njd@uni.edu;jdoe;Jane Doe;A\r\n"
                            ";rroe;Roe, Richard;B\r\n;;;\r\n", encoding="utf-8-sig")
    assert read_roster(path) == [
        {"id": "jdoe", "first_name": "Jane", "last_name": "Doe", "email": "jd@uni.edu"},
        {"id": "rroe", "first_name": "Richard", "last_name": "Roe", "email": None},
    ]


def test_read_roster_as_excel_and_libreoffice_write_it(tmp_path):
    # Excel's "CSV UTF-8": a byte-order mark, CRLF, quotes doubled inside quoted fields
    excel = (b'\xef\xbb\xbfid,name,email\r\nrsmith,"Smith, Robert ""Bob""",rs@uni.example\r\n'
             b'jdoe,"Doe, Jane",\r\n')
    # LibreOffice with "quote all text cells", semicolons, and a line break inside a cell
    libre = (b'"id";"name";"email";"note"\n"rsmith";"Smith, Robert ""Bob""";"rs@uni.example";'
             b'"two\nlines"\n"jdoe";"Doe, Jane";"";""\n')
    want = [{"id": "rsmith", "first_name": 'Robert "Bob"', "last_name": "Smith",
             "email": "rs@uni.example"},
            {"id": "jdoe", "first_name": "Jane", "last_name": "Doe", "email": None}]
    for name, data in (("excel.csv", excel), ("libre.csv", libre)):
        (tmp_path / name).write_bytes(data)
        assert read_roster(tmp_path / name) == want, name


def test_a_problem_after_a_line_break_in_a_cell_names_the_right_line(tmp_path):
    path = roster(tmp_path, 'id,name,email\njdoe,"Doe,\nJane",\n../x,Eve,\n')
    with pytest.raises(ValueError, match="line 4: id '../x'"):
        read_roster(path)


@pytest.mark.parametrize("text, expected", [
    ("id,name,email\nm,Mallory,=1+2@uni.example\n",
     "line 2: email '=1+2@uni.example' is not an email address"),
    ("id,name,email\nm,@Mallory,\n", "line 2: name '@Mallory' starts with '@'"),
    ("id,name,email\nm,\"=HYPERLINK(1),x\",\n", "name '=HYPERLINK(1),x' starts with '='"),
    ("id,name,email\nm,-Mallory,\n", "starts with '-', which a spreadsheet runs as a formula"),
    ("id,name\njdoe,Jane Doe\n", "no column email"),
    ("", "is empty"),
    ("id,name,email\njdoe,Jane,a@x.org\njdoe,John,b@x.org\n",
     "line 3: id 'jdoe' is already on line 2"),
    ("id,name,email\n../etc,Eve,\n", "line 2: id '../etc' is not a valid student id"),
    ("id,name,email\n,Nobody,\n", "line 2: id '' is not a valid student id"),
    ("id,name,email\na,A,a.x.org\n", "line 2: email 'a.x.org' is not an email address"),
    ("id,name,email\na,A,A@x.org\nb,B,a@X.org\n", "line 3: email 'a@X.org' is already on line 2"),
])
def test_bad_rosters_are_refused_with_the_line(tmp_path, text, expected):
    path = roster(tmp_path, text)
    with pytest.raises(ValueError) as info:
        read_roster(path)
    assert expected in str(info.value)


def test_every_problem_is_named_at_once(tmp_path):
    path = roster(tmp_path, "id,name,email\nok,A,\nbad id,B,\nok,C,\n")
    with pytest.raises(ValueError) as info:
        read_roster(path)
    message = str(info.value)
    assert "2 problem(s)" in message and "line 3" in message and "line 4" in message
    assert "nothing was changed" in message


def test_not_utf8_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="not UTF-8"):
        read_roster(roster(tmp_path, "id,name,email\nx,Jérôme,\n", encoding="latin-1"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_roster(tmp_path / "nope.csv")


def test_add_to_gradebook_adds_and_updates(tmp_path, course):
    with Gradebook(course.db_url) as gb:
        gb.add_student("jdoe")  # as collect registers a submitter: no name, no email
        gb.add_student("kept", first_name="Kim", last_name="Kept", email="k@x.org")
    rows = read_roster(roster(tmp_path, "id,name,email\njdoe,Jane Doe,jd@x.org\n"
                                        "new,\"Roe, Richard\",rr@x.org\nkept,Kim Kept,k@x.org\n"))
    assert add_to_gradebook(course, rows) == {"added": ["new"], "updated": ["jdoe"],
                                              "unchanged": ["kept"]}
    with Gradebook(course.db_url) as gb:
        got = {s.id: (s.first_name, s.last_name, s.email) for s in gb.students}
    assert got == {"jdoe": ("Jane", "Doe", "jd@x.org"), "new": ("Richard", "Roe", "rr@x.org"),
                   "kept": ("Kim", "Kept", "k@x.org")}
    assert add_to_gradebook(course, rows)["unchanged"] == ["jdoe", "new", "kept"]


@pytest.mark.slow
def test_roster_command(tmp_path, course):
    """`python -m grader roster FILE`: the names reach the gradebook; a bad file changes
    nothing and says what to fix, with exit status 1."""
    def grader(*args):
        return subprocess.run([sys.executable, "-m", "grader", "--root", str(course.root),
                               "roster", *args], capture_output=True, text=True, check=False,
                              timeout=300)

    good = grader(str(roster(tmp_path, "id,name,email\njdoe,Jane Doe,jd@x.org\n")))
    assert good.returncode == 0 and "1 added, 0 updated, 0 unchanged" in good.stdout
    bad = grader(str(roster(tmp_path, "id,name,email\njdoe,Jane Roe,\nj doe,X,\n", "bad.csv")))
    assert bad.returncode == 1 and "line 3: id 'j doe' is not a valid student id" in bad.stderr
    with Gradebook(course.db_url) as gb:
        assert [(s.id, s.last_name) for s in gb.students] == [("jdoe", "Doe")]
