"""The workshop hub end to end: JupyterHub, participants as Unix users, nbgrader's exchange.

One hub per module (tests/support/hub.py), on 127.0.0.1, as root. Three participants
fetch unit 1 through their own servers (the Assignments tab's API), save an answer
(perfect, partial, blank) and submit; the instructor collects, autogrades in the
sandbox, writes and releases feedback; each participant fetches their own. Then
what must stay private is tried as each participant's own Unix user, and a crashed,
culled or restarted server or hub loses nothing.
"""

import copy
import json
import os
import re
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest
from support.hub import PROXY, ScratchHub, UserServer
from support.paths import solution

from grader.workshop import spawner

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("hub"),  # one hub (and one set of accounts) for the module
    pytest.mark.skipif(os.geteuid() != 0, reason="the hub runs as root (Unix accounts)"),
    pytest.mark.skipif(not shutil.which("bwrap"), reason="grading needs bubblewrap"),
]
UNIT = "01_tensors"
COURSE = "tensors-to-lenet"
ADMIN = "dlcp-teach"
PEOPLE = {"dlcp-ada": "perfect", "dlcp-bob": "partial", "dlcp-cy": "blank"}


@pytest.fixture(scope="module")
def hub():
    if not PROXY.is_file():
        pytest.fail("configurable-http-proxy is missing: run `make node_modules` (npm ci)")
    # not pytest's tmp_path: it is closed to other users, and participants must reach it
    base = Path(tempfile.mkdtemp(prefix="dlcourse-hub-"))
    h = None
    try:
        h = ScratchHub(base, ADMIN, list(PEOPLE))
        h.start()
        h.grader("participants", str(h.roster), "--folder", str(h.folder))
        yield h
    finally:
        if h is not None:
            h.stop()
        shutil.rmtree(base, ignore_errors=True)


def solved_cells():
    """{grade_id: source} of the solution's answer cells."""
    nb = json.loads(solution(UNIT).read_text())
    return {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in nb["cells"]
            if c["metadata"].get("nbgrader", {}).get("solution")}


def answer(notebook, kind):
    """The exercise with every answer (perfect), the first (partial) or none (blank)."""
    nb = copy.deepcopy(notebook)
    solved = solved_cells()
    wanted = {"perfect": list(solved), "partial": list(solved)[:1], "blank": []}[kind]
    for cell in nb["cells"]:
        gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if gid in wanted:
            cell["source"] = solved[gid]
    return nb


def hidden_lines():
    """Distinctive lines of the solution's hidden tests."""
    nb = json.loads(solution(UNIT).read_text())
    out = []
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        for block in re.findall(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", text, re.S):
            out += [line.strip() for line in block.splitlines() if len(line.strip()) > 25]
    assert out, "the unit has no hidden tests to look for"
    return out


def submission_files(hub, name):
    """The files of ``name``'s submissions in the exchange's inbound (read as root)."""
    inbound = hub.exchange / COURSE / "inbound"
    return sorted(p for d in inbound.glob(f"{name}+{UNIT}+*") for p in d.rglob("*")
                  if p.is_file())


@pytest.fixture(scope="module")
def workshop_run(hub):
    """Release, three submissions, collect, autograde, feedback; returns the scores."""
    hub.grader("release", UNIT)
    servers = {}
    for name, kind in PEOPLE.items():
        assert hub.api.start(name) == f"/user/{name}/"
        server = servers[name] = UserServer(hub, name)
        server.nbgrader("fetch", UNIT, COURSE)
        path = f"{UNIT}/{UNIT}.ipynb"
        server.write_notebook(path, answer(server.read(path)["content"], kind))
        server.nbgrader("submit", UNIT, COURSE)
    hub.grader("collect", UNIT, "--exchange")
    hub.grader("autograde", UNIT, "--workers", "2", timeout=1500)
    hub.grader("feedback", UNIT)
    hub.grader("release-feedback", UNIT)
    scores = {}
    for name in PEOPLE:
        servers[name].nbgrader("fetch_feedback", UNIT, COURSE)
        scores[name] = feedback_page(servers[name], name)
    return servers, scores


def feedback_page(server, name):
    """The feedback page ``name`` fetched (their newest), through their server."""
    folders = server.read(f"{UNIT}/feedback")["content"]
    assert folders, f"{name} fetched no feedback"
    newest = sorted(f["name"] for f in folders)[-1]
    return server.read(f"{UNIT}/feedback/{newest}/{UNIT}.html")["content"]


def test_release_submit_collect_grade_feedback(hub, workshop_run):
    _, pages = workshop_run
    scores = hub.course.scores(UNIT)
    assert set(scores) == set(PEOPLE)
    totals = {n: sum(s for s, _ in g.values()) for n, g in scores.items()}
    maximum = sum(m for _, m in next(iter(scores.values())).values())
    status = (hub.course.data / "reports" / UNIT / "status.json")
    details = f"{scores}\n{status.read_text()[:3000] if status.is_file() else ''}"
    assert totals["dlcp-ada"] == maximum > 0, details
    assert 0 < totals["dlcp-bob"] < maximum
    assert totals["dlcp-cy"] == 0
    hidden = hidden_lines()
    for name, page in pages.items():
        shown = re.search(r"Score: ([\d.]+) / ([\d.]+)", page)
        assert shown, f"{name}'s feedback shows no score"
        assert float(shown.group(1)) == pytest.approx(totals[name]), name
        assert float(shown.group(2)) == pytest.approx(maximum)
        assert "BEGIN HIDDEN TESTS" not in page
        leaked = [line for line in hidden if line in page]
        assert not leaked, f"{name}'s feedback shows hidden tests: {leaked[:3]}"


def test_participants_work_as_their_own_unix_users(hub, workshop_run):
    uids = hub.uids()
    for name in PEOPLE:
        home = hub.home / name
        assert (home / UNIT / f"{UNIT}.ipynb").stat().st_uid == uids[name]
        assert oct(home.stat().st_mode & 0o777) == "0o700"
        assert (home / "lessons" / f"{UNIT}.ipynb").is_file()  # synced on spawn
        assert all(p.stat().st_uid == uids[name] for p in submission_files(hub, name))
        assert hub.processes_of(name), f"{name}'s server does not run as {name}"


def test_participant_cannot_read_another_or_the_instructor(hub, workshop_run):
    ada = submission_files(hub, "dlcp-ada")
    assert any(p.name == f"{UNIT}.ipynb" for p in ada)
    inbound = hub.exchange / COURSE / "inbound"
    feedback = hub.exchange / COURSE / "feedback"
    private = [*ada, ada[0].parent, hub.course.db, hub.course.root / "solutions" / UNIT /
               f"{UNIT}.ipynb", hub.course.data / "submitted", hub.home / "dlcp-ada" / UNIT,
               hub.home / ADMIN, hub.folder / "hub" / "admin-token"]
    ada_pages = sorted(feedback.glob("*.html"), key=lambda p: p.stat().st_uid)
    private += [p for p in ada_pages if p.stat().st_uid == hub.uids()["dlcp-ada"]]
    for intruder in ("dlcp-bob", "dlcp-cy"):
        for path in private:
            reader = ["ls", str(path)] if path.is_dir() else ["cat", str(path)]
            proc = hub.as_user(intruder, *reader)
            assert proc.returncode != 0 and "Permission denied" in proc.stderr, (
                f"{intruder} could read {path}:\n{proc.stdout[:300]}")
        for folder in (inbound, feedback):
            assert hub.as_user(intruder, "ls", str(folder)).returncode != 0
        # nor rename, replace or add to another's submission or the course's exchange
        target = ada[0].parent
        assert hub.as_user(intruder, "mv", str(target), str(target) + "x").returncode != 0
        assert hub.as_user(intruder, "touch", str(target / "extra")).returncode != 0
        assert hub.as_user(intruder, "mv", str(hub.exchange / COURSE),
                           str(hub.exchange / "moved")).returncode != 0
    assert (hub.exchange / COURSE).is_dir() and ada[0].parent.is_dir()


def test_participants_get_no_instructor_tools(hub, workshop_run):
    servers, _ = workshop_run
    server = servers["dlcp-bob"]
    with pytest.raises(AssertionError, match="404"):
        server.request("GET", "/formgrader/api/assignments")
    page = server.request("GET", "/api/contents/")["content"]
    assert {e["name"] for e in page} >= {"lessons", UNIT}
    assert "solutions" not in {e["name"] for e in page}


def test_servers_are_limited(hub, workshop_run):
    name = "dlcp-bob"
    folders = spawner.cgroup_folders(name)
    assert folders, "no cgroup controllers on this machine"
    if "memory" in folders:
        limit = int((folders["memory"] / "memory.limit_in_bytes").read_text())
        assert limit == 3 * 1024**3
        quota = int((folders["cpu"] / "cpu.cfs_quota_us").read_text())
        assert quota == spawner.PERIOD_US
        pids = {int(p) for p in (folders["memory"] / "cgroup.procs").read_text().split()}
    else:
        assert (folders["unified"] / "memory.max").read_text().strip() == str(3 * 1024**3)
        pids = {int(p) for p in (folders["unified"] / "cgroup.procs").read_text().split()}
    assert {p.pid for p in hub.processes_of(name)} & pids


def test_crash_cull_and_restart_lose_nothing(hub, workshop_run):
    servers, pages = workshop_run
    name = "dlcp-ada"
    before = {p: p.read_bytes() for p in submission_files(hub, name)}
    work = hub.home / name / UNIT / f"{UNIT}.ipynb"
    saved = work.read_bytes()
    scores = hub.course.scores(UNIT)
    # a crash: the server's process is killed; the hub notices and the work is there
    for proc in hub.processes_of(name):
        if "jupyterhub.singleuser" in " ".join(proc.cmdline()):
            os.kill(proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + 120
    while hub.api.call("GET", f"/users/{name}")["servers"] and time.monotonic() < deadline:
        time.sleep(2)
    assert not hub.api.call("GET", f"/users/{name}")["servers"], "the hub did not notice"
    hub.api.start(name)
    assert UserServer(hub, name).read(f"{UNIT}/{UNIT}.ipynb")["content"]["cells"]
    assert work.read_bytes() == saved
    # a restart of the hub, with a short idle timeout: users, submissions, gradebook stay
    hub.stop_hub()
    hub.setup(cull_timeout=45, cull_every=10)
    hub.start()
    assert set(PEOPLE) | {ADMIN} <= set(hub.api.users())
    assert hub.api.users()[ADMIN]["admin"]
    assert {p: p.read_bytes() for p in submission_files(hub, name)} == before
    assert hub.course.scores(UNIT) == scores
    # culling: an idle server is stopped (by the culler, says the hub's log); files stay
    hub.api.call("POST", f"/users/{name}/server")
    deadline = time.monotonic() + 300
    while hub.api.call("GET", f"/users/{name}")["servers"] and time.monotonic() < deadline:
        time.sleep(3)
    assert not hub.api.call("GET", f"/users/{name}")["servers"], "idle server not culled"
    assert re.search(rf"DELETE /hub/api/users/{name}/server \(idle-culler@", hub.log()), (
        f"the server stopped, but not by the culler:\n{hub.log()}")
    assert work.read_bytes() == saved
    server = UserServer(hub, name)
    hub.api.start(name)
    server.nbgrader("fetch_feedback", UNIT, COURSE)
    assert feedback_page(server, name) == pages[name]
