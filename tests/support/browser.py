"""Drive JupyterLab in Debian's Chromium with Playwright (see ../shared/notes/browser-testing.md).

Playwright's own browser download needs the internet, so the tests launch the
system Chromium (``apt-get install chromium``; ``$CHROMIUM`` overrides the path).
"""

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from .paths import ROOT

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1440, "height": 900}

ACTIVE = ".jp-NotebookPanel:not(.lm-mod-hidden)"
ERRORS = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
# An image output of the notebook itself (not one inside a widget), and a cell with one.
_IMAGE = ('.jp-Cell-outputWrapper > .jp-OutputArea.jp-Cell-outputArea > .jp-OutputArea-child '
          '> .jp-OutputArea-output[data-mime-type^="image/"]')
IMAGE_OUTPUTS = f"{ACTIVE} .jp-Notebook-cell > {_IMAGE}"
FIGURE_CELLS = f"{ACTIVE} .jp-Notebook-cell:has(> {_IMAGE})"


def chromium_path():
    """The Chromium executable to drive, or None when there is none."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return path if Path(path).is_file() else None


def launch(playwright):
    """A headless Chromium (the system one) driven by ``playwright``."""
    return playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS
    )


def screenshot(target, name):
    """Save a PNG of ``target`` (a page or a locator) as test-artifacts/screenshots/NAME.png.

    An element taller than the window is shot in a window made tall enough
    (JupyterLab scrolls inside its panels, so a page cannot show more).
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page = getattr(target, "page", None)
    if page is None:  # a whole page
        target.screenshot(path=str(path))
        return path
    size = page.viewport_size
    height = target.bounding_box()["height"]
    if height > size["height"] - 200:
        page.set_viewport_size({"width": size["width"], "height": int(height) + 250})
    try:
        target.scroll_into_view_if_needed()
        target.screenshot(path=str(path))
    finally:
        page.set_viewport_size(size)
    return path


def open_notebook(page, lab, path, timeout=120):
    """Open the notebook at ``path`` (relative to the server's root) and wait until
    its cells are rendered and its kernel is started and idle."""
    page.goto(lab.url(f"lab/tree/{path}?reset"))
    page.wait_for_selector(f"{ACTIVE} .jp-Cell", timeout=timeout * 1000)
    wait_for_kernel(page, timeout)


def wait_for_kernel(page, timeout=120):
    """Wait until the active notebook has a kernel (not "No Kernel") and it is idle."""
    page.wait_for_function(
        """(active) => {
            const panel = document.querySelector(active);
            if (!panel) return false;
            const name = panel.querySelector('.jp-Toolbar-kernelName');
            const status = panel.querySelector('.jp-Notebook-ExecutionIndicator');
            return name && !/No Kernel|Connecting/i.test(name.textContent)
                && status && status.getAttribute('data-status') === 'idle';
        }""",
        arg=ACTIVE, timeout=timeout * 1000,
    )


def run_all(page):
    """Run menu → Run All Cells."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()


def wait_until_run(page, timeout):
    """Wait until every code cell has run (prompt ``[n]:``) or one failed, and the
    kernel is idle. Returns the seconds waited."""
    start = time.monotonic()
    page.wait_for_function(
        """([active, errors]) => {
            const panel = document.querySelector(active);
            const status = panel.querySelector('.jp-Notebook-ExecutionIndicator');
            if (!status || status.getAttribute('data-status') !== 'idle') return false;
            if (panel.querySelector(errors)) return true;
            const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
            return prompts.length > 0
                && prompts.every(p => /^\\[\\d+\\]:$/.test(p.textContent.trim()));
        }""",
        arg=[ACTIVE, ERRORS], timeout=timeout * 1000, polling=500,
    )
    return time.monotonic() - start


def error_texts(page):
    """Texts of every stderr or error output in the active notebook."""
    return page.locator(f"{ACTIVE} {ERRORS}").all_inner_texts()


def unrendered_figures(page):
    """Descriptions of figures that did not become a visible image: image outputs
    whose <img> did not load, and figures printed as text ("<Figure size ...>")."""
    return page.evaluate(
        """(active) => {
            const bad = [];
            const panel = document.querySelector(active);
            panel.querySelectorAll('.jp-OutputArea-output[data-mime-type^="image/"]')
                .forEach((out, i) => {
                    const img = out.querySelector('img');
                    if (!img || !img.complete || img.naturalWidth === 0)
                        bad.push(`image output ${i} did not load`);
                });
            panel.querySelectorAll('.jp-OutputArea-output').forEach(out => {
                const text = out.textContent.trim();
                if (/^<(Figure|matplotlib\\.figure\\.Figure) size [^>]*>$/.test(text))
                    bad.push(`a figure shown as text: ${text}`);
                if (/Error displaying widget/.test(text)) bad.push(text);
            });
            return bad;
        }""",
        ACTIVE,
    )


def save(page):
    """Save the active notebook (File → Save) and wait until it is no longer dirty."""
    page.keyboard.press("Control+s")
    page.wait_for_function(
        """(active) => {
            const tab = document.querySelector('.jp-mod-current.lm-TabBar-tab');
            return tab && !tab.classList.contains('jp-mod-dirty');
        }""",
        arg=ACTIVE, timeout=30000,
    )


def validate(page, timeout):
    """Press nbgrader's Validate button; return the dialog once its result is shown."""
    page.locator(f"{ACTIVE} jp-button.validate-button").click()
    result = page.locator(
        ".jp-Dialog .nbgrader-ErrorDialog, .jp-Dialog .nbgrader-SuccessDialog, "
        ".jp-Dialog #validation-message"
    ).first
    result.wait_for(timeout=timeout * 1000)
    return page.locator(".jp-Dialog").first


@pytest.fixture(scope="module")
def chromium():
    """The system Chromium, launched once per test module (import this fixture)."""
    if chromium_path() is None:
        message = "no Chromium: install it with `apt-get install chromium` (or set $CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chrome = launch(playwright)
        yield chrome
        chrome.close()
