"""Autograde on a Dask cluster started from the command line, on 127.0.0.1 (issue 16).

One module-wide cluster: ``dask scheduler`` and two ``dask worker`` processes,
started in their own copy of the course (the fixture unit), as README's
"Grading on a cluster" says. The cases of ``fixtures/submissions/cases.BATCH``
that any unit can build (12 mixed submissions of the fixture unit: honest,
partly right, blank, edited tests, a kernel that exits, cheats) are graded by plain, sequential
``nbgrader autograde`` once; the tests grade it through ``python -m grader
autograde --scheduler`` and compare the gradebooks exactly (scores,
comments, late penalties, timestamps): once on the healthy cluster, once
while a worker process is killed in the middle of grading, and once with a
third worker whose ``solutions/`` differ, which must be refused by name.
A second, one-worker cluster that allows no retry shows that a submission
whose worker always dies ends with a zero and the reason. The fast tests
check the parts that need no cluster: version fingerprints and worker slots.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import time

import psutil
import pytest
from fixtures.submissions import build as b
from fixtures.submissions.cases import BATCH, BY_NAME, Unit
from support.grading import BIN, ScratchCourse, nbgrader
from support.paths import FIXTURES

from grader.course import write_scratch_config
from grader.grading import gradebook

UNIT = "00_fixture"
UNITS = FIXTURES / "submissions" / "unit"
KERNEL_UIDS = range(220_000, 220_064)  # this module's kernels alone (the pipeline test: 210000)
CONFIG = f"""
c.GuardedExecute.cell_timeouts = {{"{UNIT}": 60}}
c.GuardedExecute.notebook_timeouts = {{"{UNIT}": 300}}
c.LimitedKernelManager.memory_limit_mb = 3000
c.LimitedKernelManager.worker_uid_base = {KERNEL_UIDS.start}
"""
TIMESTAMP = "2026-12-01 10:00:00.000000 UTC"
pytestmark = [pytest.mark.xdist_group("grader-cluster")]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """``dask scheduler`` and ``dask worker`` processes, each logging to a file."""

    def __init__(self, logs, scheduler_env=None):
        self.logs, self.procs = logs, {}
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port",
                                 self.address.rsplit(":", 1)[1], "--no-dashboard"], self.logs,
                   scheduler_env)

    def start(self, name, args, cwd, env=None):
        log = open(self.logs / f"{name}.log", "w")  # noqa: SIM115 (closed in stop)
        self.procs[name] = (subprocess.Popen([str(BIN / "dask"), *args], cwd=cwd, stdout=log,
                                             stderr=subprocess.STDOUT,
                                             env={**os.environ, **(env or {})}), log)

    def worker(self, name, course_root):
        """Start a worker named ``name`` in the course folder ``course_root``."""
        self.start(name, ["worker", self.address, "--name", name, "--nworkers", "1",
                          "--nthreads", "1", "--no-dashboard"], course_root)

    def client(self):
        from distributed import Client

        return Client(self.address, timeout="30s", set_as_default=False)

    def wait_for(self, names, timeout=120):
        """Wait until exactly the workers ``names`` are connected; {name: worker pid}."""
        with self.client() as client:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                info = client.scheduler_info(n_workers=-1)["workers"]
                if sorted(w["name"] for w in info.values()) == sorted(names):
                    return {w["name"]: pid for w, pid in
                            ((info[a], pid) for a, pid in client.run(os.getpid).items())}
                time.sleep(0.5)
        raise AssertionError(f"workers {names} did not connect: {self.log_tails()}")

    def stop(self, name):
        proc, log = self.procs.pop(name)
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()

    def log_tails(self):
        return {p.name: p.read_text()[-2000:] for p in self.logs.glob("*.log")}


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The fixture unit, generated once: every course here is a copy of it."""
    return ScratchCourse(tmp_path_factory.mktemp("template"), [UNIT], source=UNITS,
                         config=CONFIG)


def copy_of(template, path):
    """A scratch course at ``path`` with ``template``'s unit and gradebook."""
    course = ScratchCourse(path, [], config=CONFIG)
    for folder in ("solutions", "exercises"):
        shutil.copytree(template.root / folder, course.root / folder)
    shutil.copyfile(template.db, course.db)
    return course


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, template):
    home = tmp_path_factory.mktemp("cluster")
    worker_course = copy_of(template, home / "worker-course")  # the workers' own clone
    (home / "logs").mkdir()
    dask = Cluster(home / "logs")
    try:
        for name in ("good-0", "good-1"):
            dask.worker(name, worker_course.root)
        dask.wait_for(["good-0", "good-1"])
        yield dask
    finally:
        for name in [n for n in dask.procs if n != "scheduler"] + ["scheduler"]:
            dask.stop(name)


@pytest.fixture(scope="module")
def batch(template):
    """{student: {file name: bytes}}: the BATCH cases, built for the fixture unit."""
    unit = Unit(UNITS / UNIT / f"{UNIT}.ipynb", template.exercise(UNIT))
    # The trick_* cases need a unit's wrong implementations (fixtures/wrong/UNIT), which
    # the fixture unit has none of.
    mixed = [name for name in BATCH if not name.startswith("trick_")]
    assert len(mixed) >= 12
    return {name: {**BY_NAME[name].make(unit), "timestamp.txt": TIMESTAMP.encode()}
            for name in mixed}


def course_with(template, path, batch):
    """A scratch course (the owner's) holding every submission of ``batch``."""
    course = copy_of(template, path)
    for student, files in batch.items():
        folder = course.data / "submitted" / student / UNIT
        folder.mkdir(parents=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)
    return course


def dump(course):
    return gradebook.dump(f"sqlite:///{course.db}", [UNIT])


@pytest.fixture(scope="module")
def sequential(tmp_path_factory, template, batch):
    """The batch graded by plain nbgrader, one submission after another."""
    course = course_with(template, tmp_path_factory.mktemp("sequential"), batch)
    nbgrader("autograde", UNIT, "--force", cwd=course.root, timeout=1800)
    found = dump(course)
    assert set(found) == {(s, UNIT) for s in batch}
    return found


def status(course):
    return json.loads((course.data / "reports" / UNIT / "status.json").read_text())


@pytest.mark.slow
def test_the_cluster_gives_the_sequential_gradebook(cluster, template, batch, sequential, tmp_path):
    course = course_with(template, tmp_path / "owner", batch)
    run = course.grader("autograde", UNIT, "--scheduler", cluster.address)
    assert dump(course) == sequential
    assert f"{UNIT}: {len(batch)} graded" in run.stdout, run.stdout
    assert set(status(course)) == set(batch)
    for student in batch:  # the autograded notebooks came back to the owner
        assert (course.data / "autograded" / student / UNIT / f"{UNIT}.ipynb").is_file()
    log = (course.data / "reports" / UNIT / "autograde.log").read_text()
    assert len(_names(log)) == 2, log[-3000:]  # both workers graded
    timing = json.loads((course.data / "reports" / UNIT / "timing.json").read_text())
    assert timing["merges"] == len(batch) and timing["merge ms mean"] > 0


def _names(log):
    """The worker addresses named in the log's per-submission headers."""
    return {line.split("graded on ")[1].rstrip(" -") for line in log.splitlines()
            if line.startswith("--- ") and "graded on " in line}


def kernels_of(pids):
    """The worker pid (of ``pids``) whose descendants include a running grading kernel."""
    for proc in psutil.process_iter(["uids"]):
        uids = proc.info["uids"]
        if not uids or uids.real not in KERNEL_UIDS:
            continue
        try:
            ancestors = {p.pid for p in proc.parents()}
        except psutil.NoSuchProcess:
            continue
        for pid in pids:
            if pid in ancestors:
                return pid
    return None


@pytest.mark.slow
def grade_and_kill(course, cluster, pids):
    """Run autograde on ``cluster``; kill -9 the first worker (of ``pids``) seen grading;
    return the finished command's (exit status, stdout, stderr)."""
    owner = subprocess.Popen(
        [str(BIN / "python"), "-m", "grader", "--root", str(course.root), "autograde", UNIT,
         "--scheduler", cluster.address], cwd=course.root, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    victim, deadline = None, time.monotonic() + 300
    while victim is None and owner.poll() is None and time.monotonic() < deadline:
        victim = kernels_of(pids.values())
        time.sleep(0.05)
    if victim is not None:
        os.kill(victim, signal.SIGKILL)
    out, err = owner.communicate(timeout=900)
    assert victim is not None, f"no worker was seen grading: {out}\n{err}"
    return owner.returncode, out, err


def test_a_worker_killed_while_grading_loses_nothing(cluster, template, batch, sequential,
                                                     tmp_path):
    course = course_with(template, tmp_path / "owner", batch)
    pids = cluster.wait_for(["good-0", "good-1"])
    code, out, err = grade_and_kill(course, cluster, pids)
    assert code == 0, f"{out}\n{err}"
    assert dump(course) == sequential
    retried = {s: [n["text"] for n in v["notes"] if n["text"].startswith("graded again")]
               for s, v in status(course).items()}
    retried = {s: t for s, t in retried.items() if t}
    assert len(retried) == 1, (retried, err)
    assert "graded again" in err
    cluster.wait_for(["good-0", "good-1"])  # the nanny restarted it, for the next test


@pytest.mark.slow
def test_a_submission_whose_worker_always_dies_ends_with_a_zero(template, batch, tmp_path):
    (tmp_path / "logs").mkdir()
    # No retry allowed: the first death is the last (the default allows 3).
    dask = Cluster(tmp_path / "logs", {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"})
    try:
        dask.worker("only", copy_of(template, tmp_path / "worker-course").root)
        pids = dask.wait_for(["only"])
        course = course_with(template, tmp_path / "owner", {"perfect": batch["perfect"]})
        code, out, err = grade_and_kill(course, dask, pids)
    finally:
        for name in ["only", "scheduler"]:
            dask.stop(name)
    assert code == 1, f"{out}\n{err}"  # a grader error, stated
    found = status(course)["perfect"]
    assert found["status"] == "error"
    assert any("its worker process died on each of 1 tries" in n["text"] for n in found["notes"])
    graded = dump(course)[("perfect", UNIT)]["notebooks"][UNIT]
    assert all(score == 0 and manual for score, _, _, manual in graded["grades"].values())
    assert all("worker process died" in auto for auto, _ in graded["comments"].values())


@pytest.mark.slow
def test_a_worker_with_another_course_version_is_refused(cluster, template, batch,
                                                         sequential, tmp_path):
    odd = tmp_path / "odd-course"
    write_scratch_config(odd, CONFIG)
    shutil.copytree(UNITS / UNIT, odd / "solutions" / UNIT)
    notebook = b.read(odd / "solutions" / UNIT / f"{UNIT}.ipynb")
    notebook.cells[0].source += "\nAn edit the owner does not have."
    (odd / "solutions" / UNIT / f"{UNIT}.ipynb").write_bytes(b.dumps(notebook))
    cluster.worker("odd-worker", odd)
    try:
        cluster.wait_for(["good-0", "good-1", "odd-worker"])
        few = {s: batch[s] for s in ("perfect", "partly_right")}
        course = course_with(template, tmp_path / "owner", few)
        run = course.grader("autograde", UNIT, "--scheduler", cluster.address)
    finally:
        cluster.stop("odd-worker")
    refused = [line for line in run.stderr.splitlines() if "refused" in line]
    assert len(refused) == 1 and "odd-worker" in refused[0], run.stderr
    assert "solutions/ differs" in refused[0], refused
    address = refused[0].split("odd-worker at ")[1].split(" ")[0]
    log = (course.data / "reports" / UNIT / "autograde.log").read_text()
    assert refused[0] in log
    assert dump(course) == {k: v for k, v in sequential.items() if k[0] in few}
    assert address.startswith("tcp://") and address not in _names(log)


def test_a_fingerprint_names_exactly_what_differs(tmp_path):
    from grader.grading import version

    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for folder in (ours, theirs):
        shutil.copytree(UNITS / UNIT, folder / UNIT)
    assert version.differences(version.fingerprint(ours), version.fingerprint(theirs)) == []
    notebook = theirs / UNIT / f"{UNIT}.ipynb"
    notebook.write_text(notebook.read_text().replace("Return 2 * x.", "Return twice x."))
    here, there = version.fingerprint(ours), version.fingerprint(theirs)
    found = version.differences(here, there)
    assert len(found) == 1 and found[0].startswith("solutions/ differs"), found
    assert here["solutions"][:12] in found[0] and there["solutions"][:12] in found[0]
    older = dict(there, packages={**there["packages"], "numpy": "1.0.0"})
    assert f"numpy {here['packages']['numpy']} here, 1.0.0 on the worker" in \
        version.differences(here, older)
    assert "nbgrader" in here["packages"] and "tensorflow-cpu" in here["packages"]


SLOT = ("import sys, time; from grader.grading import slots; "
        "print(slots.claim(int(sys.argv[1])), flush=True); time.sleep(60)")


def claim(base):
    proc = subprocess.Popen([str(BIN / "python"), "-c", SLOT, str(base)], text=True,
                            stdout=subprocess.PIPE)
    return proc, int(proc.stdout.readline())


def test_each_worker_process_takes_a_free_slot_and_a_dead_one_frees_it():
    base = 230_000 + os.getpid() % 1000 * 64  # a base no other test uses
    first, second = claim(base), claim(base)
    try:
        assert (first[1], second[1]) == (0, 1)
        first[0].kill()
        first[0].wait()
        third = claim(base)
        third[0].kill()
        assert third[1] == 0  # the dead process's lock went with it
    finally:
        for proc in (first[0], second[0]):
            proc.kill()
            proc.wait()


@pytest.mark.slow  # a new nbgrader gradebook runs alembic: seconds, more on a busy machine
def test_a_worker_receives_only_the_units_rows_without_names(tmp_path):
    import sqlite3

    from nbgrader.api import Gradebook

    from grader.grading import cluster

    db = tmp_path / "gradebook.db"
    with Gradebook(f"sqlite:///{db}") as gb:
        gb.add_student("jane", first_name="Jane", last_name="Doe", email="j@x.org")
        for unit in (UNIT, "other_unit"):
            gb.add_assignment(unit)
            gb.add_submission(unit, "jane")
    copy = tmp_path / "copy.db"
    shutil.copyfile(db, copy)
    (tmp_path / "sent.db").write_bytes(cluster.unit_snapshot(copy, UNIT))
    con = sqlite3.connect(tmp_path / "sent.db")
    try:
        assert [r[0] for r in con.execute("SELECT name FROM assignment")] == [UNIT]
        assert list(con.execute("SELECT id, first_name, last_name, email FROM student")) == [
            ("jane", None, None, None)]
    finally:
        con.close()
    with Gradebook(f"sqlite:///{db}") as gb:  # the owner's gradebook is untouched
        assert sorted(a.name for a in gb.assignments) == [UNIT, "other_unit"]
        assert gb.find_student("jane").email == "j@x.org"
