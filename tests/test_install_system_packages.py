"""scripts/install-system-packages, the first thing `make test` runs (README: a fresh machine)."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from support.paths import ROOT

SCRIPT = ROOT / "scripts" / "install-system-packages"
PACKAGES = "bubblewrap util-linux chromium nodejs npm"


def test_it_does_nothing_where_everything_is_installed():
    for program in ("bwrap", "setpriv", "unshare", "chromium", "node", "npm"):
        if shutil.which(program) is None:
            pytest.skip(f"{program} is missing here: the script would install it")
    done = subprocess.run([str(SCRIPT)], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_a_user_without_them_gets_the_one_sudo_line_at_once():
    """A machine that has none of the packages, as a user who is not root."""
    folder = Path(tempfile.mkdtemp())
    try:
        folder.chmod(0o755)
        bin_ = folder / "bin"
        bin_.mkdir()
        for program in ("sh", "id"):  # what the script itself needs, nothing it checks for
            (bin_ / program).symlink_to(shutil.which(program))
        script = folder / SCRIPT.name
        shutil.copy(SCRIPT, script)
        command = ["/bin/sh", str(script)]
        if os.geteuid() == 0:
            command = [shutil.which("setpriv"), "--reuid=65534", "--regid=65534",
                       "--clear-groups", *command]
        done = subprocess.run(command, env={"PATH": str(bin_)}, capture_output=True,
                              text=True, timeout=30)
    finally:
        shutil.rmtree(folder)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"Missing system packages; install them, then run make test again: "
        f"sudo apt-get install -y {PACKAGES}"]


def test_make_test_runs_it_first_and_ci_runs_only_make_test():
    dry = subprocess.run(["make", "--dry-run", "--no-print-directory", "test"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    commands = [line for line in dry.stdout.splitlines() if line.strip()]
    assert commands and commands[0] == "scripts/install-system-packages", commands[:3]
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.startswith("#")]
    assert ci == ["set -euo pipefail", 'cd "$(dirname "$0")/.."', "exec make test"]
