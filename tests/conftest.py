"""Shared set-up: real MNIST, quiet CPU-only TensorFlow, headless matplotlib."""

import os

import pytest
from support.browser import chromium  # noqa: F401 (the browser tests' shared fixture)
from support.paths import SHARED_MNIST

from grader.course import env_path

os.environ["PATH"] = env_path()  # kernels, nbgrader and alembic: this environment's
if "DLCOURSE_DATA" not in os.environ and SHARED_MNIST.is_file():
    os.environ["DLCOURSE_DATA"] = str(SHARED_MNIST)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")


def pytest_collection_modifyitems(items):
    """Keep each notebook's kernel-heavy fixture on one xdist worker.

    Tests of a unit carry ``xdist_group`` marks (see units/test_units.py); with
    ``--dist loadgroup`` a group runs on one worker, so the expensive
    module-scoped fixtures (a solved kernel, a scratch course) are built once.
    """
    groups = {}
    for item in items:
        group = getattr(getattr(item, "function", None), "xdist_group_of", None)
        if group and hasattr(item, "callspec"):
            groups[item] = group(item.callspec.params)
            item.add_marker(pytest.mark.xdist_group(groups[item]))
    # Run a group's tests back to back, so one cached kernel serves them all.
    items.sort(key=lambda item: groups.get(item, ""))
