"""The workshop hub end to end: JupyterHub, participants as Unix users, nbgrader's exchange.

One hub per module (tests/support/hub.py), on 127.0.0.1, as root, set up with
README's options only (the configured exchange, /srv/nbgrader/exchange; homes in
/home). Three participants fetch unit 1 through their own servers (the Assignments
tab's API), save an answer (perfect, partial, blank) and submit; a fourth, hostile,
writes straight into the exchange as her own Unix user: a solved notebook in the
blank participant's name (newer), an entry holding a link in the perfect one's name
(older), a name nbgrader cannot read, and her own entry holding a link and no secret.
The instructor collects, autogrades in the sandbox, writes and releases feedback;
each participant fetches their own. Then what must stay private is tried as each
participant's own Unix user, the process and disk limits are pushed past, and a
crashed, culled or restarted server or hub loses nothing.
"""

import copy
import datetime
import errno
import json
import os
import re
import shutil
import signal
import stat
import tempfile
import threading
import time
from pathlib import Path

import pytest
from support.hub import HOME_SIZE, PIDS_LIMIT, PROXY, ScratchHub, UserServer
from support.paths import solution

from grader.workshop import homes, spawner

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
EVE = "dlcp-eve"  # hostile: acts on the exchange as her Unix user


@pytest.fixture(scope="module")
def hub():
    if not PROXY.is_file():
        pytest.fail("configurable-http-proxy is missing: run `make node_modules` (npm ci)")
    # not pytest's tmp_path (closed to other users) nor /tmp (each server has its own)
    base = Path(tempfile.mkdtemp(prefix="dlcourse-hub-", dir="/srv"))
    h = None
    try:
        h = ScratchHub(base, ADMIN, [*PEOPLE, EVE])
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


def stamp(hours):
    """An nbgrader timestamp ``hours`` from now."""
    when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=hours)
    return when.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def eve_attacks(hub, solved):
    """Eve's entries in the inbound, made as her own Unix user; returns their names."""
    inbound = hub.exchange_course / "inbound"
    work = hub.home / EVE / "forge"
    work.mkdir()
    (work / f"{UNIT}.ipynb").write_text(json.dumps(solved))
    (work / "timestamp.txt").write_text(stamp(1))
    uid = hub.uids()[EVE]
    for path in (work, *work.iterdir()):
        os.chown(path, uid, uid)
    names = {"for_cy": f"dlcp-cy+{UNIT}+{stamp(1)}+forged1",
             "for_ada": f"dlcp-ada+{UNIT}+{stamp(-1)}+forged2",
             "unreadable": f"{EVE}+{UNIT}+not-a-time+x", "own": f"{EVE}+{UNIT}+{stamp(0)}+own"}
    steps = [["cp", "-r", str(work), str(inbound / names["for_cy"])],
             ["mkdir", str(inbound / names["for_ada"])],
             ["ln", "-s", "/etc/shadow", str(inbound / names["for_ada"] / f"{UNIT}.ipynb")],
             ["mkdir", str(inbound / names["unreadable"])],
             ["mkdir", str(inbound / names["own"])],
             ["ln", "-s", str(hub.course.root), str(inbound / names["own"] / f"{UNIT}.ipynb")]]
    for step in steps:
        proc = hub.as_user(EVE, *step)
        assert proc.returncode == 0, f"{step}: {proc.stderr}"
    return names


def submission_files(hub, name):
    """The files of ``name``'s own submissions in the exchange's inbound (read as root;
    not Eve's entries in their name)."""
    inbound = hub.exchange / COURSE / "inbound"
    return sorted(p for d in inbound.glob(f"{name}+{UNIT}+*") if "+forged" not in d.name
                  for p in d.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def workshop_run(hub):
    """Release, three submissions and Eve's entries, collect, autograde, feedback;
    returns the servers, the pages fetched and what collect and release-feedback said."""
    hub.grader("release", UNIT)
    servers = {}
    solved = None
    for name, kind in PEOPLE.items():
        assert hub.api.start(name) == f"/user/{name}/"
        server = servers[name] = UserServer(hub, name)
        server.nbgrader("fetch", UNIT, COURSE)
        path = f"{UNIT}/{UNIT}.ipynb"
        fetched = server.read(path)["content"]
        solved = answer(fetched, "perfect")
        server.write_notebook(path, answer(fetched, kind))
        server.nbgrader("submit", UNIT, COURSE)
    attacks = eve_attacks(hub, solved)
    said = {"collect": hub.grader("collect", UNIT, "--exchange").stdout}
    data = os.environ.pop("DLCOURSE_DATA", None)  # README: autograde takes the hub's --data
    try:
        said["autograde"] = hub.grader("autograde", UNIT, "--workers", "2", timeout=1500).stderr
    finally:
        if data is not None:
            os.environ["DLCOURSE_DATA"] = data
    hub.grader("feedback", UNIT)
    said["release-feedback"] = hub.grader("release-feedback", UNIT).stdout
    pages = {}
    for name in PEOPLE:
        servers[name].nbgrader("fetch_feedback", UNIT, COURSE)
        pages[name] = feedback_page(servers[name], name)
    return servers, pages, said, attacks


def feedback_page(server, name):
    """The feedback page ``name`` fetched (their newest), through their server."""
    folders = server.read(f"{UNIT}/feedback")["content"]
    assert folders, f"{name} fetched no feedback"
    newest = sorted(f["name"] for f in folders)[-1]
    return server.read(f"{UNIT}/feedback/{newest}/{UNIT}.html")["content"]


def test_the_hub_runs_the_configured_exchange(hub):
    assert hub.exchange == Path("/srv/nbgrader/exchange")  # grader/nbgrader_config.py, once
    participants = (hub.folder / "participant-config" / "nbgrader_config.py").read_text()
    assert f"c.Exchange.root = {str(hub.exchange)!r}" in participants
    assert "Exchange.root" not in (hub.course.root / "nbgrader_config.py").read_text()


def test_release_submit_collect_grade_feedback(hub, workshop_run):
    _, pages, said, _ = workshop_run
    scores = hub.course.scores(UNIT)
    assert set(scores) == {*PEOPLE, EVE}
    totals = {n: sum(s for s, _ in g.values()) for n, g in scores.items()}
    maximum = sum(m for _, m in next(iter(scores.values())).values())
    status = (hub.course.data / "reports" / UNIT / "status.json")
    details = f"{scores}\n{status.read_text()[:3000] if status.is_file() else ''}"
    assert totals["dlcp-ada"] == maximum > 0, details
    assert 0 < totals["dlcp-bob"] < maximum
    assert totals["dlcp-cy"] == 0
    assert totals[EVE] == 0
    assert "DLCOURSE_DATA is not set" not in said["autograde"]  # the hub's saved --data
    hidden = hidden_lines()
    for name, page in pages.items():
        shown = re.search(r"Score: ([\d.]+) / ([\d.]+)", page)
        assert shown, f"{name}'s feedback shows no score"
        assert float(shown.group(1)) == pytest.approx(totals[name]), name
        assert float(shown.group(2)) == pytest.approx(maximum)
        assert "BEGIN HIDDEN TESTS" not in page
        leaked = [line for line in hidden if line in page]
        assert not leaked, f"{name}'s feedback shows hidden tests: {leaked[:3]}"


def test_entries_in_anothers_name_count_for_nobody(hub, workshop_run):
    _, _, said, attacks = workshop_run
    collected = said["collect"]
    for forged in ("for_cy", "for_ada"):
        assert re.search(rf"skipped {re.escape(attacks[forged])}: claims to be "
                         rf"dlcp-(cy|ada)'s but belongs to {EVE}", collected), collected
    assert f"skipped {attacks['unreadable']}: not an nbgrader submission name" in collected
    status = json.loads((hub.course.data / "reports" / UNIT / "status.json").read_text())
    collect = json.loads((hub.course.data / "reports" / UNIT / "collect.json").read_text())
    assert collect["dlcp-ada"]["status"] == "ok"  # not refused for Eve's link
    assert collect[EVE]["status"] == "refused" and "links" in collect[EVE]["notes"][0]["text"]
    submitted = hub.course.data / "submitted"
    cy = json.loads((submitted / "dlcp-cy" / UNIT / f"{UNIT}.ipynb").read_text())
    blank = [c for c in cy["cells"] if "raise NotImplementedError" in "".join(c["source"])]
    assert blank, "cy's submission is not her own blank notebook"
    assert sorted(p.name for p in (submitted / EVE / UNIT).iterdir()) == ["timestamp.txt"]
    assert status, "autograde wrote no status"


def test_feedback_skips_a_refused_submission_and_each_page_is_private(hub, workshop_run):
    _, pages, said, _ = workshop_run
    assert set(pages) == set(PEOPLE)
    released = said["release-feedback"]
    assert "feedback released to 3 student(s)" in released, released
    assert f"skipped {EVE}: no submission_secret.txt" in released, released
    outbound = sorted((hub.exchange_course / "feedback").glob("*.html"))
    uids = hub.uids()
    assert len(outbound) == len(PEOPLE)
    assert {p.stat().st_uid for p in outbound} == {uids[n] for n in PEOPLE}
    assert {stat.S_IMODE(p.stat().st_mode) for p in outbound} == {0o400}


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
    servers = workshop_run[0]
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
        assert (folders["pids"] / "pids.max").read_text().strip() == str(PIDS_LIMIT)
        members = [folders[c] / "cgroup.procs" for c in ("memory", "cpu", "pids")]
    else:
        assert (folders["unified"] / "memory.max").read_text().strip() == str(3 * 1024**3)
        assert (folders["unified"] / "pids.max").read_text().strip() == str(PIDS_LIMIT)
        members = [folders["unified"] / "cgroup.procs"]
    mine = {p.pid for p in hub.processes_of(name)}
    for procs in members:
        assert mine & {int(p) for p in procs.read_text().split()}, procs


FORK = """import json, os, time
kids, error = [], None
try:
    for _ in range(4 * {limit}):
        pid = os.fork()
        if pid == 0:
            os.execv("/bin/sleep", ["sleep", "300"])
        kids.append(pid)
except OSError as exc:
    error = exc.errno
with open(os.path.expanduser("~/forks.json"), "w") as fh:
    json.dump({{"forked": len(kids), "errno": error}}, fh)
time.sleep(15)  # the others are tried while she is at her limit
for pid in kids:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
"""


def test_a_participant_over_the_process_limit_is_stopped(hub, workshop_run):
    servers = workshop_run[0]
    hub.api.start(EVE)
    eve = UserServer(hub, EVE)
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": FORK.format(limit=PIDS_LIMIT), "id": "fork"}]}
    eve.write_notebook("fork.ipynb", notebook)
    done = threading.Thread(target=lambda: eve.request(
        "POST", "/assignments/validate", form={"path": "fork.ipynb"}), daemon=True)
    done.start()
    report = hub.home / EVE / "forks.json"
    deadline = time.monotonic() + 120
    while not report.is_file() and time.monotonic() < deadline:
        time.sleep(1)
    forks = json.loads(report.read_text())
    assert forks["errno"] == errno.EAGAIN and forks["forked"] < PIDS_LIMIT, forks
    # while she is at her limit: the hub, another participant's server and processes
    assert hub.api.up()
    bob = servers["dlcp-bob"]
    assert bob.read(f"{UNIT}/{UNIT}.ipynb")["content"]["cells"]
    assert hub.as_user("dlcp-bob", "sh", "-c", "for i in 1 2 3 4 5; do /bin/true; done"
                       ).returncode == 0
    done.join(120)


FILL_TMP = """import errno, json, os
written, error = 0, None
try:
    with open("/tmp/fill", "wb") as fh:
        while written < 4 * {size}:
            fh.write(bytes(1 << 20))
            fh.flush()
            written += 1 << 20
except OSError as exc:
    error = exc.errno
os.remove("/tmp/fill")
with open(os.path.expanduser("~/tmpfill.json"), "w") as fh:
    json.dump({{"written": written, "errno": error}}, fh)
"""


def test_a_participant_who_fills_her_home_is_stopped_there(hub, workshop_run):
    servers = workshop_run[0]
    size = homes.parse_size(HOME_SIZE)
    assert homes.mounted(hub.home / EVE)
    # her server's /tmp is a folder of her home: filling it stops at her limit too
    eve = UserServer(hub, EVE)
    hub.api.start(EVE)
    eve.write_notebook("filltmp.ipynb", {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                                         "cells": [{"cell_type": "code", "metadata": {},
                                                    "outputs": [], "execution_count": None,
                                                    "source": FILL_TMP.format(size=size),
                                                    "id": "fill"}]})
    eve.request("POST", "/assignments/validate", form={"path": "filltmp.ipynb"})
    filled = json.loads((hub.home / EVE / "tmpfill.json").read_text())
    assert filled["errno"] == errno.ENOSPC and filled["written"] <= size, filled
    assert not Path("/tmp/fill").exists()
    fill = hub.as_user(EVE, "dd", "if=/dev/zero", f"of={hub.home / EVE / 'fill'}", "bs=1M",
                       f"count={2 * size // 2**20}")
    assert fill.returncode != 0 and "No space left on device" in fill.stderr, fill.stderr
    assert (hub.home / EVE / "fill").stat().st_size <= size
    # the others and the hub keep working
    bob = hub.as_user("dlcp-bob", "dd", "if=/dev/zero", f"of={hub.home / 'dlcp-bob' / 'x'}",
                      "bs=1M", "count=8")
    assert bob.returncode == 0, bob.stderr
    assert hub.api.up()
    assert servers["dlcp-bob"].read(f"{UNIT}/{UNIT}.ipynb")["content"]["cells"]
    (hub.home / EVE / "fill").unlink()
    (hub.home / "dlcp-bob" / "x").unlink()


def test_crash_cull_and_restart_lose_nothing(hub, workshop_run):
    _, pages, _, _ = workshop_run
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
