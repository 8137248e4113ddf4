"""`make lab`, the README's "start the course" command, really starts the course."""

import json
import os
import re
import secrets
import signal
import subprocess
import time
import urllib.request

import pytest
from support.lab import free_port
from support.paths import LESSONS, ROOT


def get(url, token):
    """GET with the token; returns (status, body, the URL after redirects)."""
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode(), response.url


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    port, token = free_port(), secrets.token_hex(16)
    home = tmp_path_factory.mktemp("home")
    env = dict(os.environ, HOME=str(home), JUPYTER_RUNTIME_DIR=str(home / "runtime"))
    log = open(home / "lab.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"PORT={port}",
         f"LAB_ARGS=--no-browser --ServerApp.token={token} --ServerApp.ip=127.0.0.1"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                get(f"{base}/api/status", token)
                break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not answer /api/status within 60 s")
        if proc.poll() is not None:
            pytest.fail(f"`make lab` exited: {(home / 'lab.log').read_text()[-3000:]}")
        yield base, token
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def test_lab_answers_and_serves_the_lessons(lab):
    base, token = lab
    status, body, _ = get(f"{base}/api/status", token)
    assert status == 200 and "started" in json.loads(body)
    _, body, _ = get(f"{base}/api/contents/lessons", token)
    served = {item["name"] for item in json.loads(body)["content"]}
    assert {p.name for p in LESSONS.glob("*.ipynb")} <= served
    _, _, landing = get(f"{base}/", token)
    assert landing.endswith("/lab/tree/lessons"), f"the course opens on {landing}"


def test_nbgrader_extensions_are_loaded(lab):
    base, token = lab
    status, body, _ = get(f"{base}/formgrader", token)  # nbgrader's server extension
    assert status == 200 and "formgrader" in body.lower()
    _, page, _ = get(f"{base}/lab", token)
    config = json.loads(re.search(
        r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S
    ).group(1))
    names = {ext["name"] for ext in config["federated_extensions"]}
    assert "@jupyter/nbgrader" in names, "nbgrader's JupyterLab extension is not installed"
    disabled = " ".join(config.get("disabledExtensions", []))
    assert "nbgrader" not in disabled, "nbgrader's JupyterLab extension is disabled"
    with pytest.raises(urllib.error.HTTPError) as err:
        get(f"{base}/api/status?token=wrong", "wrong")
    assert err.value.code == 403, "the server must require its token"


def offline(command, env):
    """Run ``command`` in the repository without a network (a network namespace of its own)."""
    unshare = ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "-rn"]
    probe = subprocess.run([*unshare, "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a network namespace here: {probe.stderr.decode()}")
    return subprocess.run([*unshare, *command], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_lab_without_data_or_network_says_in_one_line_how_to_point_at_a_file(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DLCOURSE_DATA"}
    env["HOME"] = str(tmp_path)  # no Keras cache either
    done = offline(["make", "--no-print-directory", "lab", "LAB_ARGS=--no-browser"], env)
    ours = [line for line in done.stderr.splitlines() if not line.startswith("make")]
    assert done.returncode != 0 and len(ours) == 1, done.stdout + done.stderr
    assert "export DLCOURSE_DATA=/path/to/mnist.npz" in ours[0]
    assert "jupyter lab" not in done.stdout, "JupyterLab started without the data"
    assert not (tmp_path / ".keras" / "datasets" / "mnist.npz").exists()


def test_lab_with_a_wrong_data_path_names_it(tmp_path):
    env = dict(os.environ, HOME=str(tmp_path), DLCOURSE_DATA=str(tmp_path / "nope.npz"))
    done = subprocess.run(["make", "--no-print-directory", "lab"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    ours = [line for line in done.stderr.splitlines() if not line.startswith("make")]
    assert done.returncode != 0 and len(ours) == 1, done.stderr
    assert f"No MNIST file at {tmp_path / 'nope.npz'}" in ours[0]
    assert "export DLCOURSE_DATA=" in ours[0]
