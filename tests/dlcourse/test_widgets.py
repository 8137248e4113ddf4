"""The widgets' logic, without a browser: pre-processing, convolution, controls, fallback.

The browser tests (test_browser.py) check that they work in JupyterLab; these
check what they compute, drive them like a person would (by setting their
controls and calling their mouse handlers) and check the static picture that
replaces them when no front end can show a widget.
"""

import base64
import io

import nbformat
import numpy as np
import pytest
from PIL import Image
from support.notebooks import execute, stderr_outputs

import dlcourse
from dlcourse import widgets
from dlcourse.data import load_mnist

PNG = b"\x89PNG\r\n\x1a\n"


def opaque_and_white(png):
    """True when every pixel of the PNG is opaque and its corner is white (dark-theme safe)."""
    rgba = np.asarray(Image.open(io.BytesIO(bytes(png))).convert("RGBA"))
    return bool((rgba[..., 3] == 255).all()) and tuple(rgba[0, 0]) == (255, 255, 255, 255)


@pytest.fixture(scope="module")
def mnist_test():
    _, (x, y) = load_mnist()
    return x, y


@pytest.fixture(scope="module")
def lenet():
    """An untrained LeNet-5 (32×32×1 input, logits): enough to check the plumbing."""
    tf = dlcourse.quiet_tensorflow()
    keras = tf.keras
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((32, 32, 1)),
        keras.layers.Conv2D(6, 5, activation="relu", name="conv1"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(16, 5, activation="relu", name="conv2"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(120, activation="relu"),
        keras.layers.Dense(84, activation="relu"),
        keras.layers.Dense(10),
    ])


def centre_of_mass(img):
    img = np.asarray(img, dtype=float)
    ys, xs = np.indices(img.shape)
    return (ys * img).sum() / img.sum(), (xs * img).sum() / img.sum()


def ink_box(img):
    rows, cols = np.nonzero(img)
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


# --- pre-processing of a drawing -------------------------------------------------------------


def test_an_empty_drawing_gives_a_blank_digit():
    out = widgets.preprocess_drawing(np.zeros((280, 280)))
    assert out.shape == (28, 28) and out.dtype == np.uint8 and not out.any()


@pytest.mark.parametrize("where", [(10, 20), (150, 5), (60, 200)])
def test_a_drawing_is_scaled_into_20x20_and_centred_by_mass(where):
    drawing = np.zeros((280, 280), np.uint8)
    top, left = where
    drawing[top:top + 70, left:left + 35] = 255  # a tall bar, anywhere on the canvas
    drawing[top:top + 10, left:left + 60] = 255  # with a flag: its mass is off its box centre
    out = widgets.preprocess_drawing(drawing)
    assert out.shape == (28, 28) and out.dtype == np.uint8
    assert max(ink_box(out)) == 20  # the longer side fits the 20×20 box exactly
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
    # where it was drawn does not matter
    assert np.array_equal(out, widgets.preprocess_drawing(np.roll(drawing, (-5, 7), (0, 1))))


def test_floats_in_0_1_are_read_as_grey_levels():
    drawing = np.zeros((100, 100))
    drawing[20:80, 45:55] = 1.0
    assert np.array_equal(widgets.preprocess_drawing(drawing),
                          widgets.preprocess_drawing((drawing * 255).astype(np.uint8)))


def test_a_colour_image_is_refused():
    with pytest.raises(ValueError, match="grey"):
        widgets.preprocess_drawing(np.zeros((10, 10, 3)))


def test_an_mnist_digit_drawn_large_comes_back_as_itself(mnist_test):
    """Blow real MNIST digits up 8× (a "drawing"), anywhere on a canvas: the
    pre-processing must give back (nearly) the original 28×28 digit."""
    x, _ = mnist_test
    similarity = []
    for i in range(100):
        canvas = np.zeros((300, 300), np.uint8)
        top, left = (i * 7) % 70, (i * 13) % 70
        canvas[top:top + 224, left:left + 224] = np.kron(x[i], np.ones((8, 8), np.uint8))
        out = widgets.preprocess_drawing(canvas).astype(float)
        similarity.append(np.corrcoef(out.ravel(), x[i].ravel().astype(float))[0, 1])
    assert np.median(similarity) > 0.98
    assert min(similarity) > 0.7


# --- convolution explorer -----------------------------------------------------------------


def test_convolve_is_cross_correlation_with_zero_padding_stride_and_dilation():
    rng = np.random.default_rng(0)
    image = rng.random((9, 11)).astype(np.float32)
    kernel = rng.standard_normal((3, 3)).astype(np.float32)
    for padding in range(3):
        for stride in range(1, 4):
            for dilation in (1, 2):
                out = widgets.convolve(image, kernel, stride, padding, dilation)
                span = 3 + 2 * (dilation - 1)
                h = (9 - span + 2 * padding) // stride + 1
                w = (11 - span + 2 * padding) // stride + 1
                assert out.shape == (h, w)
                padded = np.pad(image, padding)
                for i, j in [(0, 0), (h - 1, w - 1), (h // 2, w // 3)]:
                    patch = padded[i * stride:i * stride + span:dilation,
                                   j * stride:j * stride + span:dilation]
                    assert out[i, j] == pytest.approx(float((patch * kernel).sum()), abs=1e-5)


def test_dilate_spreads_the_taps_with_zeros():
    k = np.arange(1, 10).reshape(3, 3)
    assert np.array_equal(widgets.dilate(k, 1), k)
    big = widgets.dilate(k, 3)
    assert big.shape == (7, 7)
    assert np.array_equal(big[::3, ::3], k) and big.sum() == k.sum()


def test_identity_kernel_returns_the_image():
    image = np.arange(30, dtype=np.float32).reshape(5, 6)
    assert np.array_equal(widgets.convolve(image, widgets.KERNELS["identity"], 1, 1), image)


def test_the_explorer_shows_the_output_shape_and_its_formula(mnist_test):
    x, y = mnist_test
    explorer = widgets.conv_explorer(x[:5], y[:5])
    assert "26 × 26" in explorer.shape.value
    assert "(28 − 3 + 2·0) / 1 + 1 = 26" in explorer.shape.value
    picture = bytes(explorer.image.value)
    assert picture.startswith(PNG)
    for stride, padding in [(2, 0), (2, 1), (3, 2), (4, 4)]:
        explorer.stride.value, explorer.padding.value = stride, padding
        side = (28 - 3 + 2 * padding) // stride + 1
        assert explorer.output.shape == (side, side)
        assert f"Output shape: <b>{side} × {side}</b>" in explorer.shape.value
        assert f"(28 − 3 + 2·{padding}) / {stride} + 1 = {side}" in explorer.shape.value
        assert ("rounded down" in explorer.shape.value) == bool((25 + 2 * padding) % stride)
        assert bytes(explorer.image.value) != picture
        picture = bytes(explorer.image.value)
    explorer.dilation.value = 2  # a 3×3 kernel with holes spans 5×5
    side = (28 - 5 + 2 * 4) // 4 + 1
    assert explorer.output.shape == (side, side)
    assert "K = 3 + (3 − 1)·(2 − 1) = 5 (dilated); O = " in explorer.shape.value
    assert f"(28 − 5 + 2·4) / 4 + 1 = {side}" in explorer.shape.value


def test_the_explorer_kernel_menu_and_editor_stay_in_step(mnist_test):
    x, y = mnist_test
    explorer = widgets.conv_explorer(x[:5], y[:5], kernel="identity")
    assert np.array_equal(explorer.output, x[0, 1:-1, 1:-1] / np.float32(255))  # no padding
    explorer.kernel.value = "Laplacian (all edges)"
    assert np.array_equal(explorer.kernel_values(), widgets.KERNELS["Laplacian (all edges)"])
    expected = widgets.convolve(x[0] / 255, widgets.KERNELS["Laplacian (all edges)"])
    assert np.allclose(explorer.output, expected)
    explorer.cells[4].value = 4.0  # editing an entry makes it the user's own kernel
    assert explorer.kernel.value == widgets.CUSTOM
    assert explorer.kernel_values()[1, 1] == 4.0
    assert np.allclose(explorer.output, widgets.convolve(x[0] / 255, explorer.kernel_values()))
    explorer.digit.value = 3
    assert np.allclose(explorer.output, widgets.convolve(x[3] / 255, explorer.kernel_values()))
    assert "label" in explorer.figure().axes[0].get_title()
    with pytest.raises(ValueError, match="unknown kernel"):
        widgets.conv_explorer(x[:5], y[:5], kernel="sharpen")


def test_the_explorer_carries_a_static_picture_for_viewers_without_widgets(mnist_test):
    x, y = mnist_test
    bundle = widgets.conv_explorer(x[:5], y[:5])._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(PNG)


def test_the_explorer_figure_has_titles_and_labelled_axes(mnist_test):
    x, y = mnist_test
    fig = widgets.conv_explorer(x[:5], y[:5]).figure()
    assert fig.get_suptitle()
    for ax in fig.axes[:3]:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


# --- draw a digit ---------------------------------------------------------------------


def draw(drawer, points):
    """One mouse stroke through ``points`` (canvas coordinates)."""
    drawer._down(*points[0])
    for p in points[1:]:
        drawer._move(*p)
    drawer._up(*points[-1])


def test_drawing_gives_a_prediction_top3_and_feature_maps(lenet):
    drawer = widgets.draw_digit(lenet)
    assert drawer.probabilities is None and "–" in drawer.prediction.value
    blank = bytes(drawer.maps.value)
    draw(drawer, [(140, 50 + 5 * i) for i in range(40)])
    p = drawer.probabilities
    assert p.shape == (10,) and p.sum() == pytest.approx(1, abs=1e-5) and (p >= 0).all()
    assert f"Prediction: <b>{int(np.argmax(p))}</b>" in drawer.prediction.value
    assert drawer.top3.value.count("<tr>") == 4  # a header and three classes
    assert bytes(drawer.maps.value).startswith(PNG) and bytes(drawer.maps.value) != blank
    shapes = [maps.shape for _, maps in drawer.feature_maps(drawer.prepare(drawer.digit()))]
    assert shapes == [(28, 28, 6), (10, 10, 16)]


def test_what_the_model_sees_is_the_preprocessed_drawing_scaled_and_padded(lenet):
    drawer = widgets.draw_digit(lenet)
    draw(drawer, [(100, 60), (180, 220)])
    digit = drawer.digit()
    assert np.array_equal(digit, widgets.preprocess_drawing(drawer.raster()))
    batch = drawer.prepare(digit)
    assert batch.shape == (1, 32, 32, 1) and batch.dtype == np.float32
    assert np.array_equal(batch[0, 2:30, 2:30, 0], digit / np.float32(255))
    assert not batch[0, :2].any() and not batch[0, :, 30:].any()


def test_without_mnist_preprocessing_the_network_sees_the_drawing_as_drawn(lenet):
    drawer = widgets.draw_digit(lenet)
    draw(drawer, [(30, 20), (30, 100)])  # a small stroke in the top-left corner
    centred = drawer.digit()
    first = drawer.probabilities
    drawer.mnist_like.value = False  # re-classifies at once
    raw = drawer.digit()
    assert raw.shape == (28, 28) and raw.dtype == np.uint8
    assert not raw[14:, 14:].any() and raw[:11, :5].any()  # still small, still in the corner
    assert not np.array_equal(raw, centred)
    assert not np.array_equal(drawer.probabilities, first)
    assert "as drawn" in drawer.static_figure().axes[1].get_title()


def test_clear_forgets_the_drawing(lenet):
    drawer = widgets.draw_digit(lenet)
    draw(drawer, [(140, 60), (140, 220)])
    drawer.clear.click()
    assert drawer.strokes == [] and drawer.probabilities is None
    assert "–" in drawer.prediction.value and not drawer.raster().any()


def test_a_model_ending_in_softmax_is_not_softmaxed_twice(lenet):
    keras = dlcourse.quiet_tensorflow().keras
    probs = keras.Sequential([lenet, keras.layers.Softmax()])
    logits_drawer, probs_drawer = widgets.draw_digit(lenet), widgets.draw_digit(probs)
    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 12:16] = 255
    np.testing.assert_allclose(logits_drawer.classify(digit)[0], probs_drawer.classify(digit)[0],
                               atol=1e-5)
    batch = probs_drawer.prepare(digit)
    assert [name for name, _ in probs_drawer.feature_maps(batch)] == ["conv1", "conv2"]


def test_a_model_for_28x28_inputs_gets_unpadded_images():
    keras = dlcourse.quiet_tensorflow().keras
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(2, 3, name="c"),
                              keras.layers.Flatten(), keras.layers.Dense(10)])
    drawer = widgets.draw_digit(model)
    assert drawer.prepare(np.zeros((28, 28), np.uint8)).shape == (1, 28, 28, 1)


def test_draw_digit_carries_a_static_picture_for_viewers_without_widgets(lenet):
    drawer = widgets.draw_digit(lenet)
    bundle = drawer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(PNG)
    fig = drawer.static_figure()
    assert "example" in fig.get_suptitle()
    titled = [ax for ax in fig.axes if ax.get_title()]
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in titled)


@pytest.mark.slow
def test_headless_execution_keeps_a_static_figure_of_both_widgets(tmp_path):
    """Executed without a front end (nbclient, as in CI), each widget's output
    still holds a picture, and nothing is written to stderr."""
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                              "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in (
        "import dlcourse\ntf = dlcourse.quiet_tensorflow()\n"
        "from dlcourse.widgets import conv_explorer, draw_digit",
        "conv_explorer()",
        "model = tf.keras.Sequential([tf.keras.Input((32, 32, 1)),\n"
        "    tf.keras.layers.Conv2D(6, 5, activation='relu'), tf.keras.layers.Flatten(),\n"
        "    tf.keras.layers.Dense(10)])\n"
        "draw_digit(model)",
    )]
    path = tmp_path / "widgets.ipynb"
    nbformat.write(nb, path)
    done = execute(path)
    assert stderr_outputs(done) == []
    for cell in done.cells[1:]:
        data = cell.outputs[-1]["data"]
        assert "application/vnd.jupyter.widget-view+json" in data
        assert base64.b64decode(data["image/png"]).startswith(PNG)


# --- colours: colour-blind safe, readable in a dark theme --------------------------------------


def test_widget_pictures_are_opaque_and_use_the_course_palette(mnist_test, lenet):
    from matplotlib.colors import to_rgba

    from dlcourse import plots

    x, y = mnist_test
    explorer = widgets.conv_explorer(x[:5], y[:5], padding=2)
    assert opaque_and_white(explorer.image.value)
    assert "var(--jp-ui-font-color2" in widgets.MUTED_TEXT  # JupyterLab's theme colour
    assert widgets.MUTED_TEXT in explorer.shape.value
    window = [p for p in explorer.figure().axes[0].patches if p.get_linewidth() == 2]
    assert len(window) == 1
    assert tuple(window[0].get_edgecolor()) == to_rgba(widgets.WINDOW)
    assert {widgets.WINDOW, widgets.BORDER, widgets.BAR, widgets.FRAME} <= set(plots.palette())
    drawer = widgets.draw_digit(lenet)
    assert drawer.canvas in drawer.widget.children[0].children[1].children  # framed
    assert widgets.FRAME in drawer.widget.children[0].children[1].layout.border
    assert opaque_and_white(drawer.maps.value)
    draw(drawer, [(140, 50 + 5 * i) for i in range(40)])
    assert opaque_and_white(drawer.maps.value)
    assert f"background:{widgets.BAR}" in drawer.top3.value


def test_each_widget_has_its_own_module_and_the_package_exports_them():
    from dlcourse.widgets import common, convolution, drawing

    assert widgets.conv_explorer is convolution.conv_explorer
    assert widgets.ConvExplorer.__module__ == "dlcourse.widgets.convolution"
    assert widgets.draw_digit is drawing.draw_digit
    assert widgets.DigitDrawer.__module__ == "dlcourse.widgets.drawing"
    assert widgets.WINDOW is common.WINDOW
    assert all(hasattr(widgets, name) for name in widgets.__all__)
