"""Every plot function on real MNIST returns a Figure with the expected axes and titles.

Headless: the Agg backend, whatever the environment says.
"""

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest

from dlcourse import plots, set_seed
from dlcourse.data import load_mnist, pad_to_32, scale


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
    assert colours[3] == "red" and colours.count("red") == 1
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
    assert all(len(ax.get_lines()) == 2 for ax in fig.axes)  # train and test


def test_confusion_matrix_counts(mnist):
    _, (_, yt) = mnist
    pred = yt.copy()
    pred[:100] = 0
    fig = plots.plot_confusion_matrix(yt, pred)
    (ax, _colorbar) = fig.axes
    matrix = images_of(fig)[0].get_array()
    assert matrix.sum() == len(yt) and matrix.shape == (10, 10)
    assert np.trace(matrix) == np.sum(yt == pred)
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
