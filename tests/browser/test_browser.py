"""The course as a person sees it: JupyterLab and nbgrader driven in a real browser.

One JupyterLab server (started like ``make lab``, on a scratch copy of the
course) and one headless Chromium serve the whole module. Every step leaves a
screenshot in ``test-artifacts/screenshots/``.

Run them alone with ``.venv/bin/python -m pytest -m browser``. They need
Debian's Chromium (``apt-get install chromium``, which ``.ci/run`` does);
without it they are skipped, except under CI (``$CI`` set), where they fail.
"""

import json
import os
import re
import urllib.request

import nbformat
import pytest
from support import browser, paths
from support.lab import Lab, scratch_course

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

LESSONS = sorted(p.name for p in paths.LESSONS.glob("[0-9][0-9]_*.ipynb"))
UNITS = sorted(p.name for p in paths.SOLUTIONS.glob("[0-9][0-9]_*") if p.is_dir())
# The unit whose notebooks are validated in the browser: the first (the quickest to run).
VALIDATE_UNIT = UNITS[0] if UNITS else None
# Seconds one notebook may take to run all its cells (lessons train models).
RUN_TIMEOUT = int(os.environ.get("DLCOURSE_BROWSER_TIMEOUT", "900"))


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a scratch copy of the course (lessons, solutions, exercises)."""
    root = scratch_course(tmp_path_factory.mktemp("course"))
    (root / "scratch").mkdir()
    (root / "scratch" / "widgets.ipynb").write_text(nbformat.writes(widgets_notebook()))
    with Lab(root, tmp_path_factory.mktemp("home")) as server:
        yield server


@pytest.fixture
def page(chromium, lab):
    """A fresh browser tab; afterwards every kernel the test started is shut down."""
    context = chromium.new_context(viewport=browser.VIEWPORT)
    tab = context.new_page()
    yield tab
    context.close()
    shutdown_kernels(lab)


def shutdown_kernels(lab):
    """Delete every session (and so its kernel) on the server: frees memory between tests."""
    def call(method, path):
        request = urllib.request.Request(lab.url(path), method=method)
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.read()

    for session in json.loads(call("GET", "api/sessions")):
        call("DELETE", f"api/sessions/{session['id']}")


def run_notebook(page, lab, path, timeout=RUN_TIMEOUT):
    """Open ``path`` (relative to the lab's root), run all cells and wait until done;
    fail with the error outputs if a cell failed."""
    browser.open_notebook(page, lab, path)
    browser.run_all(page)
    browser.wait_until_run(page, timeout)
    errors = browser.error_texts(page)
    assert errors == [], f"{path} shows error output:\n" + "\n---\n".join(errors)


# --- 1. every lesson runs in JupyterLab -------------------------------------------------


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_runs_in_jupyterlab_with_every_figure_shown(lesson, lab, page):
    name = lesson.removesuffix(".ipynb")
    run_notebook(page, lab, f"lessons/{lesson}")
    browser.screenshot(page, f"1-lesson-{name}")
    assert browser.unrendered_figures(page) == []

    # Every image the kernel sent (as saved in the notebook) is shown as an image.
    browser.save(page)
    saved = nbformat.read(lab.root / "lessons" / lesson, as_version=4)
    sent = [
        out for cell in saved.cells if cell.cell_type == "code" for out in cell.outputs
        if any(k.startswith("image/") for k in out.get("data", {}))
        and "application/vnd.jupyter.widget-view+json" not in out.get("data", {})
    ]
    shown = page.locator(browser.IMAGE_OUTPUTS)
    assert shown.count() == len(sent), "some figures were sent but not shown as images"
    cells = page.locator(browser.FIGURE_CELLS)
    for i in range(cells.count()):
        browser.screenshot(cells.nth(i), f"1-lesson-{name}-figure{i + 1:02d}")


# --- 2. nbgrader's Validate button -------------------------------------------------------


@pytest.mark.skipif(VALIDATE_UNIT is None, reason="no unit in solutions/ yet")
def test_validate_reports_failing_tests_on_the_exercise(lab, page):
    unit = VALIDATE_UNIT
    browser.open_notebook(page, lab, f"exercises/{unit}/{unit}.ipynb")
    dialog = browser.validate(page, RUN_TIMEOUT)
    browser.screenshot(page, f"2-validate-exercise-{unit}")
    assert dialog.locator(".nbgrader-ErrorDialog, .validation-failed").count() > 0, (
        dialog.inner_text())
    assert "failed" in dialog.inner_text()


@pytest.mark.skipif(VALIDATE_UNIT is None, reason="no unit in solutions/ yet")
def test_validate_reports_success_on_the_solution(lab, page):
    unit = VALIDATE_UNIT
    browser.open_notebook(page, lab, f"solutions/{unit}/{unit}.ipynb")
    dialog = browser.validate(page, RUN_TIMEOUT)
    browser.screenshot(page, f"2-validate-solution-{unit}")
    assert dialog.locator(".nbgrader-SuccessDialog, .validation-success").count() > 0, (
        dialog.inner_text())
    assert "Success! Your notebook passes all the tests." in dialog.inner_text()


# --- 3. the instructor's view --------------------------------------------------------------


@pytest.mark.skipif(not UNITS, reason="no unit in solutions/ yet")
def test_formgrader_lists_every_unit(lab, page):
    page.goto(lab.url("lab?reset"))
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Nbgrader$")).click()
    page.locator('.lm-Menu-item[data-command="nbgrader:open-formgrader"]').click()
    frame = page.frame_locator("iframe[src*='formgrader']")
    for unit in UNITS:
        frame.get_by_role("link", name=unit, exact=True).wait_for(timeout=60000)
    browser.screenshot(page, "3-formgrader")


# --- widgets ---------------------------------------------------------------------------------


def widgets_notebook():
    """A scratch notebook with both widgets; it trains a LeNet-5 for one epoch
    (about 97% test accuracy) for the draw-a-digit widget."""
    setup = (
        "import dlcourse\n"
        "tf = dlcourse.quiet_tensorflow()\n"
        "import keras\n"
        "import numpy as np\n"
        "from dlcourse.data import load_mnist, pad_to_32, scale\n"
        "from dlcourse.widgets import conv_explorer, draw_digit\n"
        "dlcourse.set_seed(0)"
    )
    train = (
        "(x_train, y_train), (x_test, y_test) = load_mnist()\n"
        "x_train, x_test = (pad_to_32(scale(x)[..., None]) for x in (x_train, x_test))\n"
        "lenet = keras.Sequential([\n"
        "    keras.Input((32, 32, 1)),\n"
        "    keras.layers.Conv2D(6, 5, activation='relu', name='conv1'),\n"
        "    keras.layers.MaxPooling2D(2),\n"
        "    keras.layers.Conv2D(16, 5, activation='relu', name='conv2'),\n"
        "    keras.layers.MaxPooling2D(2),\n"
        "    keras.layers.Flatten(),\n"
        "    keras.layers.Dense(120, activation='relu'),\n"
        "    keras.layers.Dense(84, activation='relu'),\n"
        "    keras.layers.Dense(10),\n"
        "])\n"
        "lenet.compile('adam', keras.losses.SparseCategoricalCrossentropy(from_logits=True),\n"
        "              metrics=['accuracy'])\n"
        "lenet.fit(x_train, y_train, epochs=1, batch_size=128, verbose=0)\n"
        "accuracy = lenet.evaluate(x_test, y_test, verbose=0)[1]\n"
        "print(f'test accuracy {accuracy:.4f}')\n"
        "assert accuracy > 0.95"
    )
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                              "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in
                (setup, "conv_explorer()", train, "draw_digit(lenet)")]
    return nb


@pytest.fixture(scope="module")
def widgets_page(chromium, lab):
    """The scratch widgets notebook, run to the end in one tab for the widget tests."""
    context = chromium.new_context(viewport=browser.VIEWPORT)
    tab = context.new_page()
    try:
        run_notebook(tab, lab, "scratch/widgets.ipynb")
        yield tab
    finally:
        context.close()
        shutdown_kernels(lab)


def test_conv_explorer_updates_the_output_shape_when_a_slider_moves(widgets_page):
    page = widgets_page
    explorer = page.locator(".dlc-conv-explorer")
    shape = explorer.locator(".dlc-conv-shape")
    figure = explorer.locator(".dlc-conv-figure")
    explorer.scroll_into_view_if_needed()
    assert "Output shape: 26 × 26" in shape.inner_text()
    assert figure.evaluate("img => img.complete && img.naturalWidth > 0")
    browser.screenshot(explorer, "4-conv-explorer-stride1")
    before = figure.get_attribute("src")

    explorer.locator(".dlc-stride .noUi-handle").press("ArrowRight")  # stride 1 -> 2
    page.wait_for_function(
        "el => el.innerText.includes('Output shape: 13 × 13')", arg=shape.element_handle(),
        timeout=30000,
    )
    assert "(28 − 3 + 2·0) / 2 + 1 = 13" in shape.inner_text()
    page.wait_for_function("([img, old]) => img.src !== old && img.complete",
                           arg=[figure.element_handle(), before], timeout=30000)
    browser.screenshot(explorer, "4-conv-explorer-stride2")

    before = figure.get_attribute("src")
    explorer.locator(".dlc-padding .noUi-handle").press("ArrowRight")  # padding 0 -> 1
    page.wait_for_function(
        "el => el.innerText.includes('Output shape: 14 × 14')", arg=shape.element_handle(),
        timeout=30000,
    )
    page.wait_for_function("([img, old]) => img.src !== old && img.complete",
                           arg=[figure.element_handle(), before], timeout=30000)
    browser.screenshot(explorer, "4-conv-explorer-stride2-padding1")


def test_drawing_a_one_makes_lenet_predict_1(widgets_page):
    page = widgets_page
    widget = page.locator(".dlc-draw-digit")
    canvas = widget.locator(".dlc-draw-canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x, top = box["x"] + box["width"] * 0.52, box["y"]
    maps = widget.locator(".dlc-feature-maps")
    before = maps.get_attribute("src")
    # One vertical stroke, as a person draws a "1".
    page.mouse.move(x, top + box["height"] * 0.15)
    page.mouse.down()
    page.mouse.move(x - box["width"] * 0.04, top + box["height"] * 0.85, steps=30)
    page.mouse.up()
    prediction = widget.locator(".dlc-prediction")
    page.wait_for_function("el => /Prediction:\\s*1\\b/.test(el.innerText)",
                           arg=prediction.element_handle(), timeout=30000)
    page.wait_for_function(
        "([img, old]) => img.src !== old && img.complete && img.naturalWidth > 0",
        arg=[maps.element_handle(), before], timeout=30000)
    browser.screenshot(widget, "5-draw-digit-1")
    top3 = widget.locator(".dlc-top3").inner_text()
    assert re.search(r"^\s*1\s", top3, re.M), top3
