"""The instructor pipeline end to end on a real unit, with real nbgrader and kernels.

One scratch course gets an LMS export holding every case of
``fixtures/submissions/cases.py`` (zips, folders, loose notebooks, broken
files), and the real commands run on it once: ``collect --from``,
``autograde --workers 2``, ``feedback``, ``export``. The tests then check
every case's gradebook entry and stated reason, the feedback, the CSV and the
summary; that a second, sequential run by plain ``nbgrader autograde`` of a
batch of submissions gives exactly the same gradebook; and that grading again
changes nothing. Hostile kernels run in the batch beside honest students:
what they printed about what they could reach, the course, the environment
and every submission, byte for byte, before and after, and the processes left
over show that each stayed inside its sandbox.
"""

import base64
import csv
import hashlib
import html
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from fixtures.submissions.cases import BATCH, BY_NAME, CASES, Unit, export_entry
from nbgrader.api import Gradebook
from support import paths
from support.grading import ScratchCourse, gradebook_definitions, nbgrader, tree_state

from grader.course import Course
from grader.grading import gradebook

UNIT = "01_tensors"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("grader-pipeline"),
    pytest.mark.skipif(not paths.solution(UNIT).is_file(), reason=f"{UNIT} is not written yet"),
]
# Kernel uids of this batch alone: other tests grade at the same time on the other worker.
KERNEL_UIDS = range(210_000, 210_064)
# Generous per-cell limit: the set-up cell imports TensorFlow on a busy 2-core machine.
CONFIG = f"""
c.GuardedExecute.cell_timeouts = {{"{UNIT}": 60}}
c.GuardedExecute.notebook_timeouts = {{"{UNIT}": 900}}
c.LimitedKernelManager.memory_limit_mb = 3000
c.LimitedKernelManager.worker_uid_base = {KERNEL_UIDS.start}
"""


def config(tmp_path_factory):
    """CONFIG, with one reference cache for every course of this module: the solution
    runs once for the reference records (grader.preprocessors.reference)."""
    folder = tmp_path_factory.getbasetemp() / "reference"
    return CONFIG + f"c.Judge.reference_folder = {str(folder)!r}\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    scratch = ScratchCourse(tmp_path_factory.mktemp("pipeline"), [UNIT],
                            config=config(tmp_path_factory))
    unit = Unit(paths.solution(UNIT), scratch.exercise(UNIT))
    export = scratch.root / "lms-export"
    export.mkdir()
    for case in CASES:
        export_entry(case, unit, export, scratch.root)
    collected = scratch.grader("collect", UNIT, "--from", str(export))
    for case in CASES:  # files that only reach submitted/ through the exchange
        for name, data in case.extra.items():
            (scratch.data / "submitted" / case.name / UNIT / name).write_bytes(data)
    before = untouched(scratch)
    graded = scratch.grader("autograde", UNIT, "--workers", "2")
    scratch.grader("feedback", UNIT)
    scratch.grader("export", "--to", str(scratch.root / "out"))
    return {"scratch": scratch, "unit": unit, "collect": collected.stdout,
            "autograde": graded.stdout, "course": Course(scratch.root), "before": before,
            "after": untouched(scratch), "left over": sandboxed_processes()}


def untouched(scratch):
    """What no kernel may change: the course's sources and student versions, the
    gradebook's description of the course and its manual grades, every submission,
    the environment (size, mode, times of each file: any write changes its ctime)."""
    return {"solutions": tree_state(scratch.root / "solutions"),
            "exercises": tree_state(scratch.root / "exercises"),
            "submitted": tree_state(scratch.data / "submitted"),
            "gradebook": gradebook_definitions(scratch.db),
            "environment": environment()}


def environment():
    """The environment's state; by content for what `make` rewrites (with the same
    bytes) whenever it reinstalls the course package, by size and times elsewhere."""
    state = tree_state(sys.prefix, content=False)
    for key in [k for k in state if REINSTALLED.match(k)]:
        path = Path(sys.prefix, key)
        if path.is_file() and not path.is_symlink():
            state[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


REINSTALLED = re.compile(r"^(\.installed|lib/python[\d.]+/site-packages/(__editable__|"
                         r"__pycache__/__editable__|dlcourse-[\d.]+\.dist-info))")


def sandboxed_processes(grace=10):
    """Processes still running as one of this batch's kernel uids, ``grace`` seconds
    after grading ended at the latest (a kernel told to stop on a loaded machine)."""
    import time

    import psutil

    deadline = time.monotonic() + grace
    while True:
        found = []
        for proc in psutil.process_iter(["pid", "uids", "cmdline"]):
            uids = proc.info["uids"]
            if uids and uids.real in KERNEL_UIDS:
                found.append((proc.info["pid"], proc.info["cmdline"]))
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def autograded(run, student):
    return run["scratch"].data / "autograded" / student / UNIT / f"{UNIT}.ipynb"


def scores(run, student):
    with Gradebook(f"sqlite:///{run['scratch'].db}") as gb:
        sub = gb.find_submission(UNIT, student)
        return {g.name: g.score for nb in sub.notebooks for g in nb.grades}


def notes(run, student):
    from grader.reporting import records

    return records.status(run["course"], UNIT, student)["notes"]


def hidden_lines():
    """Lines of the hidden tests worth looking for (as test_units does)."""
    secret = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
    found = set()
    for cell in nbformat.read(paths.solution(UNIT), 4).cells:
        for body in secret.findall(cell.source):
            found.update(line.strip() for line in body.splitlines()
                         if len(line.strip()) > 12 and not line.strip().startswith("#"))
    assert found
    return found


def page_text(path):
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


def test_collect_reports_every_submission(run):
    for case in CASES:
        assert case.name in run["collect"], f"{case.name} missing from the collect report"
    assert "missing" in run["collect"] and "no notebook" in run["collect"]


@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_every_case_ends_with_the_right_gradebook_entry(run, name):
    case, unit = BY_NAME[name], run["unit"]
    got = scores(run, name)
    assert got == unit.expected(case), f"{name}: {notes(run, name)}"
    found = notes(run, name)
    text = " ".join(n["text"] for n in found)
    assert case.note in text, f"{name}: expected a note about {case.note!r}, got {found}"
    worst = next((s for s in ("zero", "review", "info") if any(n["severity"] == s
                                                              for n in found)), None)
    allowed = case.severity.split("|") if case.severity else [None]
    assert worst in allowed, f"{name}: most serious note {worst}, expected {allowed}: {found}"


@pytest.mark.parametrize("name", [c.name for c in CASES if c.prints])
def test_a_hostile_kernel_reaches_nothing_outside_its_sandbox(run, name):
    assert BY_NAME[name].prints in autograded(run, name).read_text()


@pytest.mark.parametrize("part", ["solutions", "exercises", "submitted", "gradebook",
                                  "environment"])
def test_grading_leaves_the_course_byte_identical(run, part):
    before, after = run["before"][part], run["after"][part]
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert changed == [], f"{part} changed while grading: {changed[:10]}"


def test_no_kernel_outlives_its_grading_or_stops_the_others(run):
    assert run["left over"] == []
    log = (run["scratch"].data / "reports" / UNIT / "autograde.log").read_text()
    assert "worker process died" not in log and "error" not in run["autograde"].split(";")[0]
    with Gradebook(f"sqlite:///{run['scratch'].db}") as gb:
        assert {s.student_id for s in gb.assignment_submissions(UNIT)} == {c.name for c in CASES}


def test_kernels_run_as_the_uids_their_course_sets(run):
    match = re.search(r"uid: (\d+)", autograded(run, "kills_owner").read_text())
    assert match, "the kills_owner case printed no uid"
    assert int(match.group(1)) in KERNEL_UIDS


def test_output_is_limited_by_size(run):
    page = run["scratch"].data / "feedback" / "output_images" / UNIT / f"{UNIT}.html"
    assert autograded(run, "output_images").stat().st_size < 16 * 2**20
    assert page.stat().st_size < 16 * 2**20


def test_collect_refuses_links_and_never_merges_two_entries(run):
    out = run["collect"]
    assert "Zoë" in out and "Zoé" in out and "twice.zip" in out
    for name in ("link_to_solutions", "linked_folder", "Zoe", "twice"):
        folder = run["scratch"].data / "submitted" / name / UNIT
        assert list(folder.iterdir()) == [], f"{name}: {list(folder.iterdir())}"


def test_feedback_shows_messages_but_no_hidden_test(run):
    folder = run["scratch"].data / "feedback"
    secrets = hidden_lines()
    pages = sorted(folder.glob(f"*/{UNIT}/*.html"))
    assert len(pages) == len(CASES)
    for page in pages:
        text = page_text(page)
        leaked = [line for line in secrets if line in text]
        assert leaked == [], f"{page}: hidden test lines leaked: {leaked[:3]}"
    partly = page_text(folder / "partly_right" / UNIT / f"{UNIT}.html")
    assert "NotImplementedError" in partly and "Your results" in partly
    assert "passed" in partly
    cheat = page_text(folder / "cheat_allclose" / UNIT / f"{UNIT}.html")
    assert "To be looked at by a person" in cheat and "np.allclose" in cheat
    broken = page_text(folder / "not_json" / UNIT / f"{UNIT}.html")
    assert "not valid JSON" in broken and "Score: 0" in broken


def test_a_zeroed_submission_says_why_in_the_gradebook(run):
    with Gradebook(f"sqlite:///{run['scratch'].db}") as gb:
        for name in ("not_json", "missing"):
            sub = gb.find_submission(UNIT, name)
            comments = [c.auto_comment for nb in sub.notebooks for c in nb.comments]
            assert sub.score == 0 and sub.needs_manual_grade
            assert comments and all(c.startswith(("Score set to zero", "Not graded"))
                                    for c in comments), comments


# what leaks_*.py print
LEAKS = re.compile(r"(B64|HISTORY):[A-Za-z0-9+/=]{20}|REV:[^\"]|Leak_[0-9a-f]{16}")


def test_hidden_tests_printed_encoded_never_reach_the_feedback(run):
    cells = nbformat.read(autograded(run, "leaks_hidden_tests"), 4).cells
    printed = "".join(o.get("text", "") for c in cells for o in c.get("outputs", []))
    assert len(LEAKS.findall(printed)) > 10  # it did print them, hidden tests included
    page = page_text(run["scratch"].data / "feedback" / "leaks_hidden_tests" / UNIT /
                     f"{UNIT}.html")
    assert LEAKS.findall(page) == []


def test_the_kernels_history_keeps_no_hidden_test(run):
    """Test cells leave no trace in IPython's input history or line cache: what
    leaks_history.py, a cell after the last test, finds there holds no hidden line."""
    cells = nbformat.read(autograded(run, "leaks_hidden_tests"), 4).cells
    printed = "".join(o.get("text", "") for c in cells for o in c.get("outputs", []))
    (found,) = re.findall(r"HISTORY:([A-Za-z0-9+/=]+)", printed)
    kept = base64.b64decode(found).decode()
    assert "def " in kept  # the student's own cells are there
    assert [line for line in hidden_lines() if line in kept] == []


def test_an_error_raised_by_student_code_carries_nothing_out(run):
    """Checks replaced by code that raises the test cell's source: the autograded
    notebook and the feedback say only what the grader wrote."""
    cells = nbformat.read(autograded(run, "leaks_through_errors"), 4).cells
    shown = " ".join(str(o.get("evalue", "")) + str(o.get("ename", ""))
                     for c in cells if c.metadata.get("nbgrader", {}).get("grade")
                     for o in c.get("outputs", []))
    assert "the test raised an exception of a class your code defines" in shown
    page = page_text(run["scratch"].data / "feedback" / "leaks_through_errors" / UNIT /
                     f"{UNIT}.html")
    assert LEAKS.findall(shown + page) == []


def test_the_judge_decides_and_leaves_no_record_behind(run):
    from dlcourse.checks import MIME

    for case in CASES:
        path = autograded(run, case.name)
        if path.is_file():
            outputs = [o for c in nbformat.read(path, 4).cells for o in c.get("outputs", [])]
            assert not [o for o in outputs if MIME in o.get("data", {})], case.name
    copied = " ".join(n["text"] for n in notes(run, "trick_copy_expected"))
    assert "stand-in for the expected value" in copied
    for case in CASES:  # an honest test cell never hands a check its expected value
        said = " ".join(n["text"] for n in notes(run, case.name))
        assert "expected value in the student's kernel" not in said, case.name
    assert list((tmp_reference(run)).glob(f"{UNIT}/*.json")), "no reference records cached"


def tmp_reference(run):
    return run["scratch"].root.parent / "reference"


def test_csv_matches_the_gradebook(run):
    with open(run["scratch"].root / "out" / "grades.csv") as fh:
        rows = list(csv.DictReader(fh))
    units = {r["student_id"]: r for r in rows if r["assignment"] == UNIT}
    with open(run["scratch"].root / "out" / "totals.csv") as fh:
        totals = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert set(units) == set(totals) == {c.name for c in CASES}
    with Gradebook(f"sqlite:///{run['scratch'].db}") as gb:
        for sub in gb.assignment_submissions(UNIT):
            row = units[sub.student_id]
            assert float(row["score"]) == pytest.approx(sub.score)
            assert float(row["max_score"]) == pytest.approx(sub.max_score)
            assert float(totals[sub.student_id]["score"]) == pytest.approx(sub.score)
            serious = [n for n in notes(run, sub.student_id) if n["severity"] != "info"]
            assert (row["needs_review"] == "yes") == bool(serious)


def test_summary_matches_the_gradebook(run):
    import json

    out = run["scratch"].root / "out"
    summary = json.loads((out / "summary.json").read_text())
    with Gradebook(f"sqlite:///{run['scratch'].db}") as gb:
        subs = gb.assignment_submissions(UNIT)
        for stat in summary["tests"][UNIT]:
            got = [g.score for s in subs for nb in s.notebooks for g in nb.grades
                   if g.name == stat["test"]]
            assert stat["submissions"] == len(got) == len(CASES)
            assert stat["mean"] == pytest.approx(sum(got) / len(got))
            assert stat["failure_rate"] == pytest.approx(
                sum(s < stat["max_score"] for s in got) / len(got))
        assert summary["totals"] == pytest.approx({s.student_id: s.score for s in subs})
    flagged = {r["student_id"] for r in summary["review"]}
    expected = {c.name for c in CASES if any(n["severity"] != "info"
                                             for n in notes(run, c.name))}
    assert flagged == expected
    assert (out / "totals.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Needs a human look" in (out / "summary.md").read_text()


def test_parallel_equals_a_sequential_nbgrader_run(run, tmp_path_factory):
    assert len(BATCH) >= 12
    sequential = ScratchCourse(tmp_path_factory.mktemp("sequential"), [UNIT],
                               config=config(tmp_path_factory))
    for student in BATCH:
        shutil.copytree(run["scratch"].data / "submitted" / student / UNIT,
                        sequential.data / "submitted" / student / UNIT)
    nbgrader("autograde", UNIT, "--force", cwd=sequential.root, timeout=3600)
    parallel = gradebook.dump(f"sqlite:///{run['scratch'].db}", [UNIT])
    alone = gradebook.dump(f"sqlite:///{sequential.db}", [UNIT])
    assert set(alone) == {(s, UNIT) for s in BATCH}
    assert {k: parallel[k] for k in alone} == alone


def test_grading_again_changes_nothing(run):
    before = gradebook.dump(f"sqlite:///{run['scratch'].db}")
    pages = tree_state(run["scratch"].data / "feedback")
    again = ["os_exit", "cheat_hidden_patch", "missing", "not_json", "attack_course",
             "kills_owner", "Zoe", "link_to_solutions"]
    args = [a for s in again for a in ("--student", s)]
    run["scratch"].grader("autograde", UNIT, "--workers", "2", *args)
    assert gradebook.dump(f"sqlite:///{run['scratch'].db}") == before
    others = {k: v for k, v in tree_state(run["scratch"].data / "feedback").items()
              if k.split("/")[0] not in again}
    assert others == {k: v for k, v in pages.items() if k.split("/")[0] not in again}
    assert sandboxed_processes() == []
