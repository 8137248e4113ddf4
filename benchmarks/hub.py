"""Sizing the workshop hub: N participants each running the LeNet lesson at once.

A real hub (tests/support/hub.py: JupyterHub, participants as Unix users, each
server in its cgroup with the hub's default 1-core limit). For each N, N
participants' servers are started through the REST API, and each participant runs
lessons/07_pooling_and_lenet.ipynb top to bottom in a kernel of their own, inside
their server's cgroup, all at the same time. Measured per participant from the
cgroup: peak memory (server + kernel), CPU seconds, and the lesson's wall time.
Needs root (Unix accounts); quick mode does not run it.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.machine import table

LESSON = "07_pooling_and_lenet"
RUNNER = (
    "import sys, nbformat, nbclient\n"
    "nb = nbformat.read(sys.argv[1], as_version=4)\n"
    "nbclient.NotebookClient(nb, timeout=3600, kernel_name='python3').execute()\n"
)


def _reset(folders):
    for kind, name in (("memory", "memory.max_usage_in_bytes"), ("cpuacct", "cpuacct.usage")):
        if kind in folders:
            (folders[kind] / name).write_text("0")


def _round(hub, names, spawner):
    s = hub.settings
    procs = {}
    for name in names:
        hub.api.start(name)
        _reset(spawner.cgroup_folders(name))
    start = time.monotonic()
    for name in names:
        home = hub.home / name
        env = {"HOME": str(home), "USER": name, "PATH": f"{s['participant_bin']}:/usr/bin:/bin",
               "JUPYTER_PATH": str(Path(s["venv_bin"]).parent / "share" / "jupyter"),
               "JUPYTER_CONFIG_PATH": s["participant_config"], "DLCOURSE_DATA": s["data"],
               "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1"}
        proc = subprocess.Popen(
            [shutil.which("runuser") or "/usr/sbin/runuser", "-u", name, "--",
             str(Path(s["participant_bin"]) / "python"), "-c", RUNNER,
             str(home / "lessons" / f"{LESSON}.ipynb")],
            env=env, cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            # into the server's cgroup (same limits) before it starts anything
            preexec_fn=lambda n=name: spawner.limit(n, os.getpid(), 3 * 2**30, 1.0))
        procs[name] = proc
    walls, out = {}, {}
    for name, proc in procs.items():
        err = proc.communicate()[1]
        walls[name] = time.monotonic() - start
        if proc.returncode != 0:
            raise RuntimeError(f"the lesson failed for {name}:\n{err[-2000:]}")
        out[name] = spawner.usage(name)
    for name in names:
        hub.api.stop(name)
    return walls, out


def run(quick, out, root):
    if quick or os.geteuid() != 0:
        return ("## 7. Workshop hub: participants at once\n\nQuick mode: not run (it needs "
                "root, a hub and one TensorFlow kernel per participant).")
    sys.path.insert(0, str(root / "tests"))
    import json

    from support.hub import ScratchHub

    from grader.workshop import spawner

    counts = [int(n) for n in os.environ.get("DLCOURSE_HUB_USERS", "1,2,3").split(",")]
    names = [f"dlcs-u{i}" for i in range(max(counts))]
    base = Path(tempfile.mkdtemp(prefix="dlcourse-hubs-"))
    rows, results = [], {}
    hub = ScratchHub(base, "dlcs-teach", names, uid_base=231200, lessons=(LESSON,))
    try:
        hub.start()
        hub.grader("participants", str(hub.roster), "--folder", str(hub.folder))
        hub.settings = json.loads((hub.folder / "hub" / "settings.json").read_text())
        hub.settings.update(venv_bin=str(Path(sys.executable).parent),
                            participant_config=str(hub.folder / "participant-config"))
        for n in counts:
            walls, usage = _round(hub, names[:n], spawner)
            peaks = [u["memory_peak"] / 2**20 for u in usage.values()]
            cpu = [u["cpu_seconds"] for u in usage.values()]
            wall = max(walls.values())
            results[n] = {"wall": wall, "peak": max(peaks), "sum_peaks": sum(peaks),
                          "cpu": statistics.median(cpu), "cores_busy": sum(cpu) / wall}
            r = results[n]
            rows.append([n, f"{statistics.median(walls.values()):.0f} / {wall:.0f}",
                         f"{r['peak']:,.0f}", f"{r['sum_peaks']:,.0f}", f"{r['cpu']:.0f}",
                         f"{r['cores_busy']:.1f}"])
    finally:
        hub.stop()
        subprocess.run(["rm", "-rf", str(base)])
    cores = len(os.sched_getaffinity(0))
    one = results[counts[0]]
    per_gb = 1024 / one["peak"]
    return "\n\n".join([
        "## 7. Workshop hub: participants at once",
        f"`python -m benchmarks --only hub` (`DLCOURSE_HUB_USERS`, default 1,2,3): N participants "
        f"of a real workshop hub each run `lessons/{LESSON}.ipynb` top to bottom at the same "
        f"time, in a kernel inside their own server's cgroup (limit 1 core each), on this "
        f"{cores}-core machine. Per participant, from the cgroup: peak memory of server + "
        "kernel, CPU seconds; wall time of the lesson (median / slowest).",
        table(["participants", "lesson wall s (median / max)", "peak MiB per participant (max)",
               "sum of peaks MiB", "CPU s per participant", "cores busy"], rows),
        f"Load average of the whole machine when the run ended: {os.getloadavg()[0]:.1f} "
        "(other work shares it, so the wall times are longer than on a quiet server; CPU "
        "seconds and memory do not depend on that).",
        f"**Rule of thumb** for a host: memory limits first: about "
        f"{one['peak'] / 1024:.1f} GiB per participant running the LeNet lesson "
        f"({per_gb:.1f} participants per GiB), plus about 2 GiB for the system and the hub. "
        "A kernel keeps its memory until it is shut down, so a participant with two "
        "lessons' kernels open needs twice that; `--mem-limit` (default 4G) keeps one "
        "participant from taking the server (only the kernel over it dies; files stay). "
        f"CPU decides how long the lesson takes: it needs {one['cpu']:.0f} CPU-seconds per "
        f"participant, so P participants on C cores take about max({one['cpu']:.0f}, "
        f"{one['cpu']:.0f} × P / C) seconds when all run it at once. For 30 participants: "
        f"64 GiB and 16 cores (about {one['cpu'] * 30 / 16 / 60:.0f} minutes for the lesson); "
        f"for 100: 192 GiB and 48 cores (about {one['cpu'] * 100 / 48 / 60:.0f} minutes). "
        "Keep 1 core per server (`--cpu-limit 1`).",
    ])
