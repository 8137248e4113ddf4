"""Participants' servers: JupyterHub's LocalProcessSpawner, with memory, CPU and process limits.

LocalProcessSpawner runs each server as the participant's Unix user (the hub runs
as root) but enforces neither ``mem_limit`` nor ``cpu_limit``, and nothing bounds how
many processes a participant starts (her ``ulimit -u`` counts per user and is usually
above the machine's ``pid_max``). ``CourseSpawner`` puts each server, and so every
kernel and process it starts, into a cgroup of its own, ``dlcourse-hub/<user>``:
memory at ``mem_limit``, the CPU quota at ``cpu_limit`` cores, at most ``pids_limit``
processes and threads. One table of limits (``LIMITS``) is written under cgroup v1
(one hierarchy per controller: memory, cpu, cpuacct, pids) or v2 (the unified
hierarchy, where the hub enables the controllers for its subtree). Where cgroups
cannot be written, the hub logs that the limits are not enforced and the server runs
anyway.
"""

import os
import pwd
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Integer

from grader.workshop import homes

CGROUP = Path("/sys/fs/cgroup")
GROUP = "dlcourse-hub"
PERIOD_US = 100_000


# One row per limit: (v1 controller, v1 file, v2 file, v1 "none", v2 "none"); the
# values come from ``values``. The CPU period is the same in both.
LIMITS = (
    ("memory", "memory.limit_in_bytes", "memory.max", "-1", "max"),
    ("cpu", "cpu.cfs_quota_us", "cpu.max", "-1", "max"),
    ("pids", "pids.max", "pids.max", "max", "max"),
)
V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "pids")
V2_CONTROLLERS = "+memory +cpu +pids"


def unified():
    """Whether this machine runs cgroup v2 only (``/sys/fs/cgroup`` is the unified tree)."""
    return (CGROUP / "cgroup.controllers").is_file()


def cgroup_folders(user):
    """{controller: folder} of ``user``'s cgroup (``{"unified": folder}`` under v2)."""
    if unified():
        return {"unified": CGROUP / GROUP / user}
    return {name: CGROUP / name / GROUP / user for name in V1_CONTROLLERS
            if (CGROUP / name).is_dir()}


def values(mem_bytes, cpus, pids):
    """{v1 controller: value or None} of the limits asked (None: no limit)."""
    return {"memory": int(mem_bytes) if mem_bytes else None,
            "cpu": int(cpus * PERIOD_US) if cpus else None,
            "pids": int(pids) if pids else None}


def writes(kind, limits):
    """[(file, text)] that set ``limits`` (from ``values``) in a cgroup of ``kind`` (a v1
    controller, or "unified")."""
    out = []
    for controller, v1_file, v2_file, v1_none, v2_none in LIMITS:
        value = limits[controller]
        if kind == "unified":
            text = v2_none if value is None else str(value)
            out.append((v2_file, f"{text} {PERIOD_US}" if controller == "cpu" else text))
        elif kind == controller:
            if controller == "cpu":
                out.append(("cpu.cfs_period_us", str(PERIOD_US)))
            out.append((v1_file, v1_none if value is None else str(value)))
    return out


def limit(user, pid, mem_bytes, cpus, pids=None):
    """Move ``pid`` into ``user``'s cgroup with these limits (None: no limit)."""
    limits = values(mem_bytes, cpus, pids)
    for kind, folder in cgroup_folders(user).items():
        if kind == "unified":
            for parent in (CGROUP, CGROUP / GROUP):
                parent.mkdir(exist_ok=True)
                (parent / "cgroup.subtree_control").write_text(V2_CONTROLLERS)
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in writes(kind, limits):
            (folder / name).write_text(text)
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


def _mount_namespace(pid):
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return None


def release(user):
    """Remove ``user``'s (empty) cgroup folders."""
    for folder in cgroup_folders(user).values():
        try:
            folder.rmdir()
        except OSError:
            pass


class CourseSpawner(LocalProcessSpawner):
    """LocalProcessSpawner whose servers get the ``mem_limit``, ``cpu_limit`` and
    ``pids_limit`` they ask."""

    pids_limit = Integer(
        1024, help="Most processes and threads one participant's server and everything it "
                   "starts may have at once (the cgroup's pids.max); 0: no limit").tag(config=True)

    def make_preexec_fn(self, name):
        """Join the cgroup in the new process itself, while still root (before it
        drops to the participant and before it can start anything), then drop."""
        drop = super().make_preexec_fn(name)
        mem, cpus, pids = self.mem_limit, self.cpu_limit, self.pids_limit
        account = pwd.getpwnam(name)

        def preexec():
            try:
                limit(name, os.getpid(), mem, cpus, pids)
            except OSError:
                pass  # start() tries again and logs why
            try:
                homes.private_tmp(account.pw_dir, account.pw_uid, account.pw_gid)
            except homes.NoNamespace:
                pass  # start() logs that /tmp is shared; any other failure stops this server
            drop()

        return preexec

    async def start(self):
        """Start the server as the participant, in its cgroup."""
        url = await super().start()
        try:
            limit(self.user.name, self.pid, self.mem_limit, self.cpu_limit, self.pids_limit)
        except OSError as exc:
            self.log.warning("memory, CPU and process limits NOT enforced for %s: cannot write its "
                             "cgroup (%s)", self.user.name, exc)
        if _mount_namespace(self.pid) == _mount_namespace(os.getpid()):
            self.log.warning("%s's server shares /tmp with everyone (no mount namespace of "
                             "its own): its writes there are not limited", self.user.name)
        return url

    async def stop(self, now=False):
        """Stop the server; drop its cgroup."""
        await super().stop(now=now)
        release(self.user.name)
