"""The figures of unit 5 draw what they say: one panel per window, the right volumes.

Headless: the Agg backend, whatever the environment says.
"""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from dlcourse import conv_figures

# The lesson's worked example (SYLLABUS, unit 5) and its 4x4 feature map.
IMAGE = np.array([
    [255, 220, 150, 200, 110, 100],
    [240, 50, 35, 45, 200, 130],
    [0, 20, 245, 250, 230, 120],
    [170, 180, 235, 145, 170, 255],
    [190, 185, 170, 165, 130, 120],
    [255, 255, 245, 190, 200, 175],
], dtype=float)
KERNEL = np.array([[-0.7, 0.2, 0.1], [0.3, 0.5, 0.4], [-0.2, -0.4, 0.2]])
FMAP = np.array([
    [32.5, -105.5, -44.0, -60.5],
    [-105.5, 104.0, 224.0, 213.5],
    [185.5, 217.5, 38.5, 52.5],
    [54.0, 31.0, -18.0, 37.5],
])


@pytest.fixture(autouse=True)
def close_figures():
    plt.switch_backend("Agg")
    yield
    plt.close("all")


def test_sliding_window_grid_has_one_pair_of_panels_per_position():
    fig = conv_figures.sliding_window_grid(IMAGE, KERNEL)
    assert len(fig.axes) == 2 * 16
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "step 1: window at (0, 0)" and titles[-2] == "step 16: window at (3, 3)"
    # each output panel's title carries the value a cross-correlation gives there
    expected = [f"out[{i}, {j}] = {FMAP[i, j]:g}" for i in range(4) for j in range(4)]
    assert titles[1::2] == expected
    # the last panel shows the whole map, every value written in its cell
    written = sorted(float(t.get_text()) for t in fig.axes[-1].texts)
    assert written == sorted(FMAP.ravel().tolist())
    # the window outline on the image sits where the window is
    box = fig.axes[2 * 6].patches[0]  # step 7: window at (1, 2)
    assert (box.get_x(), box.get_y(), box.get_width(), box.get_height()) == (1.5, 0.5, 3, 3)
    assert fig.texts[0].get_text().startswith("A 3×3 window slides over a 6×6 image")


def test_sliding_window_grid_with_a_stride_skips_positions():
    image = np.arange(49.0).reshape(7, 7)
    fig = conv_figures.sliding_window_grid(image, np.ones((3, 3)), stride=2, ncols=3)
    assert len(fig.axes) == 2 * 9
    assert fig.axes[2 * 8].get_title() == "step 9: window at (4, 4)"
    assert fig.axes[2 * 8 + 1].get_title() == f"out[2, 2] = {image[4:, 4:].sum():g}"


def test_conv_volume_figure_draws_input_filters_and_output():
    fig = conv_figures.conv_volume_figure((5, 5, 3), (3, 3, 3, 2), position=(1, 1))
    assert len(fig.axes) == 1 + 2 + 1  # input, one block per filter, output
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "input 5×5×3\nwindow at (1, 1), all 3 channels"
    assert titles[1] == "2 filters, each 3×3×3\nfilter 0" and titles[2] == "\nfilter 1"
    assert titles[3] == "output 3×3×2\noutputs at (1, 1)"
    assert all(ax.collections for ax in fig.axes), "a volume without voxels"
    assert {t.get_text() for t in fig.texts} >= {"⋆", "→"}
    fig = conv_figures.conv_volume_figure((6, 7, 2), (2, 3, 2, 4), position=(0, 4))
    assert len(fig.axes) == 6 and fig.axes[-1].get_title().startswith("output 5×5×4")


def test_conv_volume_figure_refuses_inconsistent_shapes():
    with pytest.raises(ValueError, match="deep"):
        conv_figures.conv_volume_figure((5, 5, 3), (3, 3, 2, 2))
    with pytest.raises(ValueError, match="outside"):
        conv_figures.conv_volume_figure((5, 5, 3), (3, 3, 3, 2), position=(3, 0))
