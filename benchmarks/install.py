"""Time and disk size of a fresh install with the README's set-up (`make` creates .venv)."""

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.machine import table


def folder_mib(path):
    """Disk usage of a folder in MiB (``du``, so hard links count once)."""
    out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0]) / 1024


def run(quick, out, root):
    if quick:
        size = folder_mib(root / ".venv")
        return "\n\n".join([
            "## 5. Set-up",
            "Quick mode: no fresh install; size of the existing environment.",
            table(["what", "value"], [[".venv size", f"{size:,.0f} MiB"]]),
        ])
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "course"
        subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
        start = time.perf_counter()
        proc = subprocess.run(["make", "-C", str(clone), ".venv/.installed"],
                              capture_output=True, text=True)
        seconds = time.perf_counter() - start
        ok = proc.returncode == 0
        size = folder_mib(clone / ".venv") if ok else float("nan")
        shutil.rmtree(clone, ignore_errors=True)
    return "\n\n".join([
        "## 5. Set-up",
        "A fresh `git clone`, then the set-up step that `make lab` / `make test` run first "
        "(create `.venv`, `pip install -e \".[test]\"`), from this machine's package index "
        "(wheels already in pip's cache or a local mirror make this faster than a cold download).",
        table(["what", "value"], [["install time", f"{seconds:.0f} s" if ok else "failed"],
                                  [".venv size", f"{size:,.0f} MiB"]]),
    ])
