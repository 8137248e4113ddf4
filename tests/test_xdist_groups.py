"""The suite relies on pytest-xdist's ``--dist loadgroup``: one worker for a unit's solved
kernel, one hub at a time (tests/hub, tests/browser/test_hub_browser.py). xdist marks a
group by appending ``@group`` to a test's id; where that stops working (pytest 9.2 with
xdist 3.8) groups are ignored without a word and tests that share a service collide."""

import pytest


@pytest.mark.xdist_group("xdist-groups-check")
def test_a_group_mark_reaches_the_scheduler(request):
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not run under pytest-xdist with --dist loadgroup")
    assert request.node.nodeid.endswith("@xdist-groups-check"), (
        "pytest-xdist ignores xdist_group marks with this pytest: pin pytest (pyproject.toml)")
