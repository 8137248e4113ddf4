"""Fast checks of the workshop hub's parts that need no hub: lesson sync, exchange
permissions, account names, settings."""

import json
import stat

import pytest

from grader.course import Course, write_scratch_config
from grader.workshop import accounts, exchange, homes, spawner, sync
from grader.workshop.layout import Workshop


def test_sync_copies_updates_and_never_clobbers(tmp_path):
    src, dest = tmp_path / "lessons", tmp_path / "home" / "lessons"
    src.mkdir()
    (src / "a.ipynb").write_text("a1")
    (src / "b.ipynb").write_text("b1")
    assert sync.sync(src, dest) == {"copied": ["a.ipynb", "b.ipynb"], "updated": [], "kept": []}
    (dest / "b.ipynb").write_text("my notes")           # the participant edits b
    (src / "a.ipynb").write_text("a2")                  # the course changes a and b, adds c
    (src / "b.ipynb").write_text("b2")
    (src / "c.ipynb").write_text("c1")
    done = sync.sync(src, dest)
    assert done == {"copied": ["c.ipynb"], "updated": ["a.ipynb"], "kept": ["b.ipynb"]}
    assert (dest / "a.ipynb").read_text() == "a2"
    assert (dest / "b.ipynb").read_text() == "my notes"
    assert (dest / "b.course-update.ipynb").read_text() == "b2"
    (dest / "c.ipynb").unlink()                         # deleted by the participant: back
    assert sync.sync(src, dest)["copied"] == ["c.ipynb"]
    assert (dest / "b.ipynb").read_text() == "my notes"


def test_sync_leaves_links_alone(tmp_path):
    src, dest = tmp_path / "lessons", tmp_path / "dest"
    src.mkdir()
    dest.mkdir()
    (src / "a.ipynb").write_text("course")
    outside = tmp_path / "outside.txt"
    outside.write_text("not yours")
    (dest / "a.ipynb").symlink_to(outside)
    assert sync.sync(src, dest)["kept"] == ["a.ipynb"]
    assert outside.read_text() == "not yours"


def test_exchange_permissions(tmp_path):
    root = tmp_path / "exchange"
    exchange.prepare(root, "c1")
    modes = {p: stat.S_IMODE((root / p).stat().st_mode)
             for p in ("", "c1", "c1/outbound", "c1/inbound", "c1/feedback")}
    assert modes == {"": 0o1777, "c1": 0o755, "c1/outbound": 0o755, "c1/inbound": 0o3733,
                     "c1/feedback": 0o711}


def test_account_names_are_checked():
    accounts.check_names(["ada", "bob_2", "c-d"])
    with pytest.raises(ValueError, match="'Jane.Doe'.*'1x'"):
        accounts.check_names(["ok", "Jane.Doe", "1x"])


def test_settings_are_kept_and_checked(tmp_path):
    write_scratch_config(tmp_path / "course")
    workshop = Workshop(Course(tmp_path / "course"), tmp_path / "ws")
    workshop.save(port=9000, admins=["t"])
    workshop.save(mem_limit="2G", port=None)
    saved = json.loads(workshop.settings_path.read_text())
    assert saved == {"port": 9000, "admins": ["t"], "mem_limit": "2G"}
    assert workshop.settings()["cull_timeout"] == 3600
    assert workshop.users() == ["t"]
    with pytest.raises(ValueError, match="unknown workshop settings: prot"):
        workshop.save(prot=1)


def test_one_table_of_limits_for_cgroup_v1_and_v2():
    asked = spawner.values(3 * 2**30, 1.5, 256)
    v1 = {kind: spawner.writes(kind, asked) for kind in spawner.V1_CONTROLLERS}
    assert v1 == {"memory": [("memory.limit_in_bytes", str(3 * 2**30))],
                  "cpu": [("cpu.cfs_period_us", "100000"), ("cpu.cfs_quota_us", "150000")],
                  "cpuacct": [], "pids": [("pids.max", "256")]}
    assert spawner.writes("unified", asked) == [
        ("memory.max", str(3 * 2**30)), ("cpu.max", "150000 100000"), ("pids.max", "256")]
    none = spawner.values(None, None, 0)
    assert spawner.writes("unified", none) == [
        ("memory.max", "max"), ("cpu.max", "max 100000"), ("pids.max", "max")]
    assert spawner.writes("pids", none) == [("pids.max", "max")]
    assert spawner.writes("memory", none) == [("memory.limit_in_bytes", "-1")]


def test_home_sizes():
    assert homes.parse_size("2G") == 2 * 2**30
    assert homes.parse_size("96M") == 96 * 2**20
    assert homes.parse_size("0") == 0
    with pytest.raises(ValueError, match="not a size"):
        homes.parse_size("two gigs")
