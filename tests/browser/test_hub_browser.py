"""The workshop hub as a participant sees it, in Chromium: log in, fetch, Validate, submit.

A real hub (tests/support/hub.py) with one instructor and one participant; the
participant logs in through the hub's login page (choosing their password at
first login), opens nbgrader's Assignments tab, fetches unit 1, opens the
exercise, presses Validate and submits. Screenshots: ``hub-*.png`` in
``test-artifacts/screenshots/``.
"""

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from support import browser
from support.hub import PASSWORD, PROXY, ScratchHub

pytestmark = [
    pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("hub"),
    pytest.mark.skipif(os.geteuid() != 0, reason="the hub runs as root (Unix accounts)"),
]
UNIT = "01_tensors"
PARTICIPANT = "dlcb-dee"


@pytest.fixture(scope="module")
def hub():
    if not PROXY.is_file():
        pytest.fail("configurable-http-proxy is missing: run `make node_modules` (npm ci)")
    base = Path(tempfile.mkdtemp(prefix="dlcourse-hubb-", dir="/srv"))
    h = None
    try:
        h = ScratchHub(base, "dlcb-teach", [PARTICIPANT])
        h.start()
        h.grader("participants", str(h.roster), "--folder", str(h.folder))
        h.grader("release", UNIT)
        yield h
    finally:
        if h is not None:
            h.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_participant_logs_in_fetches_validates_and_submits(hub, chromium):
    context = chromium.new_context(viewport=browser.VIEWPORT)
    page = context.new_page()
    try:
        page.goto(f"{hub.url}/hub/login")
        page.fill("input#username_input", PARTICIPANT)
        page.fill("input#password_input", PASSWORD)
        browser.screenshot(page, "hub-1-login")
        page.click("#login_submit")
        page.wait_for_url(re.compile(rf"/user/{PARTICIPANT}/lab"), timeout=240_000)
        page.wait_for_selector("#jp-main-dock-panel", timeout=120_000)
        page.wait_for_timeout(2000)
        browser.screenshot(page, "hub-2-lab")
        # a stranger, and a wrong password, are refused (in a clean context)
        other = chromium.new_context()
        try:
            for user, password in (("stranger", PASSWORD), (PARTICIPANT, "wrong-password")):
                tab = other.new_page()
                tab.goto(f"{hub.url}/hub/login")
                tab.fill("input#username_input", user)
                tab.fill("input#password_input", password)
                tab.click("#login_submit")
                tab.wait_for_load_state()
                assert "/hub/login" in tab.url, f"{user} got in"
                assert tab.locator(".login_error, .alert-danger").count(), tab.content()[:500]
        finally:
            other.close()

        # Nbgrader -> Assignment List: fetch unit 1
        page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Nbgrader$")).click()
        menu = page.locator(".lm-Menu-item", has_text="Assignment List")
        menu.click()
        released = page.locator("#released_assignments_list")
        released.get_by_text(UNIT).wait_for(timeout=60_000)
        assert page.locator(".lm-Menu-item", has_text="Formgrader").count() == 0
        browser.screenshot(page, "hub-3-assignments-released")
        released.locator("button", has_text="Fetch").click()
        fetched = page.locator("#fetched_assignments_list")
        fetched.get_by_text(UNIT).first.wait_for(timeout=60_000)
        browser.screenshot(page, "hub-4-assignments-fetched")

        # open the exercise, press Validate: the unsolved tasks are listed
        page.goto(f"{hub.url}/user/{PARTICIPANT}/lab/tree/{UNIT}/{UNIT}.ipynb?reset")
        page.wait_for_selector(f"{browser.ACTIVE} .jp-Cell", timeout=120_000)
        browser.wait_for_kernel(page, 180)
        dialog = browser.validate(page, 300)
        text = dialog.inner_text()
        assert "Validation Results" in text or "failed" in text, text[:500]
        browser.screenshot(page, "hub-5-validate")
        dialog.locator("button", has_text=re.compile("OK|Close|Dismiss", re.I)).first.click()

        # back to the Assignments tab: submit
        page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Nbgrader$")).click()
        page.locator(".lm-Menu-item", has_text="Assignment List").click()
        fetched = page.locator("#fetched_assignments_list")
        fetched.locator("button", has_text="Submit").first.click()
        submitted = page.locator("#submitted_assignments_list")
        submitted.get_by_text(UNIT).first.wait_for(timeout=60_000)
        browser.screenshot(page, "hub-6-submitted")
        assert page.get_by_text("get notified about official Jupyter news").count() == 0
    finally:
        context.close()
    inbound = hub.exchange / "tensors-to-lenet" / "inbound"
    mine = list(inbound.glob(f"{PARTICIPANT}+{UNIT}+*/{UNIT}.ipynb"))
    assert mine, "no submission reached the exchange"
    assert all(p.stat().st_mode & 0o077 == 0 for p in mine)
