"""Participants' servers: JupyterHub's LocalProcessSpawner, with memory and CPU limits.

LocalProcessSpawner runs each server as the participant's Unix user (the hub runs
as root) but enforces neither ``mem_limit`` nor ``cpu_limit``. ``CourseSpawner``
puts each server, and so every kernel it starts, into a cgroup of its own:
``dlcourse-hub/<user>`` under the memory, cpu and cpuacct controllers (cgroup v1)
or the unified hierarchy (v2), with ``memory`` at ``mem_limit`` and the CPU quota at
``cpu_limit`` cores. Where cgroups cannot be written, the hub logs that the limits
are not enforced and the server runs anyway.
"""

import os
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner

CGROUP = Path("/sys/fs/cgroup")
GROUP = "dlcourse-hub"
PERIOD_US = 100_000


def cgroup_folders(user):
    """{controller: folder} of ``user``'s cgroup (``{"unified": folder}`` under v2)."""
    if (CGROUP / "cgroup.controllers").is_file():
        return {"unified": CGROUP / GROUP / user}
    return {name: CGROUP / name / GROUP / user for name in ("memory", "cpu", "cpuacct")
            if (CGROUP / name).is_dir()}


def limit(user, pid, mem_bytes, cpus):
    """Move ``pid`` into ``user``'s cgroup with these limits (None: no limit)."""
    for kind, folder in cgroup_folders(user).items():
        if kind == "unified":
            for parent in (CGROUP, CGROUP / GROUP):
                parent.mkdir(exist_ok=True)
                (parent / "cgroup.subtree_control").write_text("+memory +cpu")
        folder.mkdir(parents=True, exist_ok=True)
        if kind == "unified":
            (folder / "memory.max").write_text(str(mem_bytes) if mem_bytes else "max")
            quota = int(cpus * PERIOD_US) if cpus else "max"
            (folder / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        elif kind == "memory" and mem_bytes:
            (folder / "memory.limit_in_bytes").write_text(str(mem_bytes))
        elif kind == "cpu":
            (folder / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (folder / "cpu.cfs_quota_us").write_text(str(int(cpus * PERIOD_US)) if cpus else "-1")
        (folder / "cgroup.procs").write_text(str(pid))


def usage(user):
    """{"memory_peak", "memory_now" (bytes), "cpu_seconds"} of ``user``'s cgroup so far."""
    folders = cgroup_folders(user)
    out = {}
    if "unified" in folders:
        f = folders["unified"]
        out["memory_now"] = int((f / "memory.current").read_text())
        peak = f / "memory.peak"
        out["memory_peak"] = int(peak.read_text()) if peak.is_file() else out["memory_now"]
        stats = dict(line.split() for line in (f / "cpu.stat").read_text().splitlines())
        out["cpu_seconds"] = int(stats["usage_usec"]) / 1e6
        return out
    out["memory_now"] = int((folders["memory"] / "memory.usage_in_bytes").read_text())
    out["memory_peak"] = int((folders["memory"] / "memory.max_usage_in_bytes").read_text())
    out["cpu_seconds"] = int((folders["cpuacct"] / "cpuacct.usage").read_text()) / 1e9
    return out


def release(user):
    """Remove ``user``'s (empty) cgroup folders."""
    for folder in cgroup_folders(user).values():
        try:
            folder.rmdir()
        except OSError:
            pass


class CourseSpawner(LocalProcessSpawner):
    """LocalProcessSpawner whose servers get the ``mem_limit`` and ``cpu_limit`` they ask."""

    def make_preexec_fn(self, name):
        """Join the cgroup in the new process itself, while still root (before it
        drops to the participant and before it can start anything), then drop."""
        drop = super().make_preexec_fn(name)
        mem, cpus = self.mem_limit, self.cpu_limit

        def preexec():
            try:
                limit(name, os.getpid(), mem, cpus)
            except OSError:
                pass  # start() tries again and logs why
            drop()

        return preexec

    async def start(self):
        """Start the server as the participant, in its cgroup."""
        url = await super().start()
        try:
            limit(self.user.name, self.pid, self.mem_limit, self.cpu_limit)
        except OSError as exc:
            self.log.warning("memory and CPU limits NOT enforced for %s: cannot write its "
                             "cgroup (%s)", self.user.name, exc)
        return url

    async def stop(self, now=False):
        """Stop the server; drop its cgroup."""
        await super().stop(now=now)
        release(self.user.name)
