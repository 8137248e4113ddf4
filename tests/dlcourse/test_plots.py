"""Every plot function on real MNIST returns a Figure with the expected axes and titles.

Also: the course style (colour-blind-safe, opaque) is what importing the module
sets, and the helper package holds no exercise answer.
Headless: the Agg backend, whatever the environment says.
"""

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pytest
from PIL import Image
from support import paths

from dlcourse import plots, set_seed
from dlcourse.data import load_mnist, pad_to_32, scale

SAFE_MAPS = {"viridis", "cividis", "magma", "inferno", "plasma"}


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


@pytest.fixture(autouse=True)
def close_figures():
    plt.switch_backend("Agg")
    yield
    plt.close("all")


def images_of(fig):
    return [im for ax in fig.axes for im in ax.get_images()]


@pytest.fixture(scope="module")
def lenet():
    set_seed(0)
    return keras.Sequential([
        keras.Input((32, 32, 1)),
        keras.layers.Conv2D(6, 5, activation="relu", name="conv1"),
        keras.layers.MaxPooling2D(2, name="pool1"),
        keras.layers.Conv2D(16, 5, activation="relu", name="conv2"),
        keras.layers.MaxPooling2D(2, name="pool2"),
        keras.layers.Flatten(),
        keras.layers.Dense(120, activation="relu"),
        keras.layers.Dense(84, activation="relu"),
        keras.layers.Dense(10),
    ])


def test_digits_mark_wrong_predictions_red(mnist):
    (x, y), _ = mnist
    predictions = y[:12].copy()
    predictions[3] = (predictions[3] + 1) % 10
    fig = plots.plot_digits(x[:12], y[:12], predictions, ncols=6, title="Some digits")
    assert len(fig.axes) == 12 and len(images_of(fig)) == 12
    assert fig._suptitle.get_text() == "Some digits"
    colours = [ax.title.get_color() for ax in fig.axes]
    assert colours[3] == plots.WRONG_COLOUR and colours.count(plots.WRONG_COLOUR) == 1
    assert fig.axes[3].title.get_fontweight() == "bold"  # not told by colour alone
    assert fig.axes[0].get_title() == f"{y[0]}→{y[0]}"


def test_dense_weights_show_ten_digits():
    kernel = np.random.default_rng(0).normal(size=(784, 10))
    fig = plots.plot_dense_weights(kernel)
    assert [ax.get_title() for ax in fig.axes] == [f"digit {d}" for d in range(10)]
    assert images_of(fig)[4].get_array().shape == (28, 28)
    with pytest.raises(ValueError, match="784, 10"):
        plots.plot_dense_weights(kernel.T)


def test_history_and_live_curves_from_a_real_fit(mnist):
    (x, y), (xt, yt) = mnist
    set_seed(0)
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    live = plots.LiveCurves()
    history = model.fit(scale(x[:2000]).reshape(-1, 784), y[:2000], epochs=2, verbose=0,
                        validation_data=(scale(xt[:500]).reshape(-1, 784), yt[:500]),
                        callbacks=[live])
    assert live.figure is None, "headless: the live callback must draw nothing"
    assert live.history["loss"] == pytest.approx(history.history["loss"])
    fig = plots.plot_history(history, title="Dense 784→10")
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    assert [ax.get_xlabel() for ax in fig.axes] == ["epoch", "epoch"]
    assert all(len(ax.get_lines()) == 2 for ax in fig.axes)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["train", "validation"]


def test_confusion_matrix_counts(mnist):
    _, (_, yt) = mnist
    pred = yt.copy()
    pred[:100] = 0
    fig = plots.plot_confusion_matrix(yt, pred)
    (ax, _colorbar) = fig.axes
    matrix = images_of(fig)[0].get_array()
    assert matrix.sum() == len(yt) and matrix.shape == (10, 10)
    assert np.trace(matrix) == np.sum(yt == pred)
    oracle, _, _ = np.histogram2d(yt, pred, bins=10, range=[[0, 10], [0, 10]])
    assert np.array_equal(matrix, oracle)
    assert ax.get_xlabel() == "predicted label" and ax.get_ylabel() == "true label"


def test_filters_one_image_per_output_channel(lenet):
    fig = plots.plot_filters(lenet.get_layer("conv1").get_weights()[0])
    assert len(images_of(fig)) == 6
    assert images_of(fig)[0].get_array().shape == (5, 5)


def test_feature_maps_one_row_per_conv_and_pool_layer(mnist, lenet):
    (x, _), _ = mnist
    image = pad_to_32(scale(x[:1]))[0][..., None]
    fig = plots.plot_feature_maps(lenet, image, max_maps=8)
    rows = [ax.get_ylabel().split("\n")[0] for ax in fig.axes if ax.get_ylabel()]
    assert rows == ["conv1", "pool1", "conv2", "pool2"]
    shapes = {im.get_array().shape for im in images_of(fig)}
    assert shapes == {(28, 28), (14, 14), (10, 10), (5, 5)}
    assert len(images_of(fig)) == 6 + 6 + 8 + 8


def test_images_and_lines():
    fig = plots.plot_images([np.eye(3)] * 3, ["a", "b", "c"], title="Three")
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"]
    fig = plots.plot_lines([1, 2, 3], {"acc": [0.9, 0.95, 0.99]}, "seconds", "accuracy")
    assert fig.axes[0].get_xlabel() == "seconds" and fig.axes[0].get_title()


# --- the course style -------------------------------------------------------------------------


def test_importing_plots_sets_the_colour_blind_style():
    """In a fresh interpreter, the import alone sets the cycle, the map and opaque backgrounds."""
    probe = ("import json, matplotlib as m\n"
             "import dlcourse.plots\n"
             "r = m.rcParams\n"
             "print(json.dumps({'cycle': r['axes.prop_cycle'].by_key()['color'],\n"
             "    'cmap': r['image.cmap'], 'faces': [r['figure.facecolor'], r['axes.facecolor'],\n"
             "    r['savefig.facecolor']], 'transparent': r['savefig.transparent']}))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=paths.ROOT, env={"MPLBACKEND": "Agg", "PATH": ""})
    assert out.stderr == ""
    style = json.loads(out.stdout)
    colourblind = plt.style.library["tableau-colorblind10"]["axes.prop_cycle"]
    assert style["cycle"] == colourblind.by_key()["color"] == plots.palette()
    assert style["cmap"] in SAFE_MAPS
    assert style["faces"] == ["white"] * 3 and style["transparent"] is False


def test_course_maps_are_colour_blind_safe():
    assert plots.IMAGE_CMAP in SAFE_MAPS
    assert plots.COUNT_CMAP.removesuffix("_r") in SAFE_MAPS
    assert plots.SIGNED_CMAP == "RdBu_r"  # ColorBrewer's diverging map, colour-blind safe
    assert plots.WRONG_COLOUR in plots.palette()


def test_a_rendered_figure_is_opaque_and_light(mnist):
    """Saved as PNG (what JupyterLab shows), every pixel is opaque and the page is white,
    so black text stays readable in a dark theme."""
    plt.style.use("default")  # someone changed the style: the documented call restores it
    plots.use_course_style()
    (x, y), _ = mnist
    fig = plots.plot_digits(x[:6], y[:6], ncols=6)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    rgba = np.asarray(Image.open(buffer).convert("RGBA"))
    assert (rgba[..., 3] == 255).all()
    assert tuple(rgba[0, 0]) == (255, 255, 255, 255)
    line = plt.figure().add_subplot().plot([0, 1])[0]
    assert line.get_color() == plots.palette()[0]


# --- no exercise answers in the helper package -----------------------------------------------


def solution_lines():
    """(unit, line) of every line between BEGIN and END SOLUTION in the solution notebooks,
    longer than 12 characters and not a comment, as the exercises' leak test reads them."""
    secret = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
    found = []
    for notebook in sorted(paths.SOLUTIONS.glob("*/*.ipynb")):
        for cell in nbformat.read(notebook, 4).cells:
            for body in secret.findall(cell.source):
                for line in body.splitlines():
                    line = line.strip()
                    if len(line) > 12 and not line.startswith("#"):
                        found.append((notebook.stem, line))
    return found


def test_helper_package_holds_no_solution_line():
    lines = solution_lines()
    assert len(lines) > 100, "the solution notebooks were not found"
    package = Path(plots.__file__).parent
    sources = {f.relative_to(package.parent): f.read_text() for f in package.rglob("*.py")}
    assert len(sources) >= 5
    leaks = [(str(name), unit, line) for name, text in sources.items()
             for unit, line in lines if line in text]
    assert leaks == [], "exercise answers in dlcourse/ (students can read it)"


# --- architecture diagram ---------------------------------------------------------------------


def test_architecture_has_one_box_per_layer_labelled_from_the_model(lenet):
    fig = plots.plot_architecture(lenet)
    labels = {t.get_gid(): t.get_text() for ax in fig.axes for t in ax.texts
              if (t.get_gid() or "").startswith("layer:")}
    assert list(labels) == ["layer:input"] + [f"layer:{layer.name}" for layer in lenet.layers]
    assert len(fig.axes[0].patches) == len(lenet.layers) + 1
    assert "32×32×1" in labels["layer:input"]
    for layer in lenet.layers:
        shape = "×".join(str(d) for d in layer.output.shape[1:])
        label = labels[f"layer:{layer.name}"]
        assert f"output {shape} · {layer.count_params():,} parameters" in label
    assert "6 filters 5×5, VALID, relu" in labels["layer:conv1"]
    assert "output 28×28×6 · 156 parameters" in labels["layer:conv1"]  # the syllabus' figures
    assert "output 400 · 0 parameters" in labels[f"layer:{lenet.layers[4].name}"]
    assert "61,706" in fig.axes[0].get_title()
    assert "rate 0.3" in plots.architecture_rows(keras.Sequential(
        [keras.Input((4,)), keras.layers.Dropout(0.3)]))[1][1]


def test_architecture_refuses_an_unbuilt_model():
    with pytest.raises(ValueError, match="built"):
        plots.plot_architecture(keras.Sequential([keras.layers.Dense(3)]))
