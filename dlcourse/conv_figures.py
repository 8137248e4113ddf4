"""Figures for unit 5 (convolution by hand). Every function returns its Figure.

They draw; they compute nothing a student is asked for. To fill in a feature
map, :func:`sliding_window_grid` cross-correlates one grey image with one 2-D
kernel (stride 1 or more, no padding), as :mod:`dlcourse.widgets` does for the
convolution explorer. Colours come from matplotlib's current colour cycle
(``"C0"``, ``"C1"``, ...) and colour maps, so the course's global style, set
by :mod:`dlcourse.plots`, applies to them too.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.patches import Rectangle


def _correlate(image, kernel, stride):
    """Cross-correlation at the windows that fit (no padding), for drawing."""
    kh, kw = kernel.shape
    oh = (image.shape[0] - kh) // stride + 1
    ow = (image.shape[1] - kw) // stride + 1
    out = np.empty((oh, ow))
    for i in range(oh):
        for j in range(ow):
            window = image[i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[i, j] = np.sum(window * kernel)
    return out


def _ink(rgba):
    """Black or white, whichever reads better on the colour ``rgba``."""
    r, g, b = rgba[:3]
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black"


def _write_values(ax, values, image, cmap, vmin, vmax, fmt, fontsize):
    colours = plt.get_cmap(cmap)(plt.Normalize(vmin, vmax)(image))
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=fontsize,
                    color=_ink(colours[i, j]))


def sliding_window_grid(image, kernel, stride=1, ncols=4, title=None, fmt="{:g}"):
    """Small multiples of a cross-correlation: one pair of panels per window position.

    For every position (row by row) the left panel shows ``image`` with the
    window outlined, the right panel the feature map filled in up to that
    position, with the new value outlined. ``image`` and ``kernel`` are 2-D;
    no padding; ``stride`` is one int for both axes.
    """
    image = np.asarray(image, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    kh, kw = kernel.shape
    fmap = _correlate(image, kernel, stride)
    oh, ow = fmap.shape
    positions = [(i, j) for i in range(oh) for j in range(ow)]
    ncols = max(1, min(ncols, len(positions)))
    nrows = -(-len(positions) // ncols)
    fig, axes = plt.subplots(nrows, 2 * ncols, squeeze=False,
                             figsize=(2.0 * 2 * ncols, 2.25 * nrows + 0.6),
                             width_ratios=[image.shape[1], ow * 1.15] * ncols)
    limit = np.abs(fmap).max() or 1.0
    for ax in axes.flat[2 * len(positions):]:
        ax.remove()
    for step, (i, j) in enumerate(positions):
        left, right = axes.flat[2 * step], axes.flat[2 * step + 1]
        left.imshow(image, cmap="gray", vmin=min(image.min(), 0), vmax=image.max() or 1.0)
        left.add_patch(Rectangle((j * stride - 0.5, i * stride - 0.5), kw, kh, fill=False,
                                 lw=2.5, ec="C1"))
        left.set_title(f"step {step + 1}: window at ({i * stride}, {j * stride})", fontsize=8)
        so_far = np.full(fmap.shape, np.nan)
        done = np.arange(oh * ow).reshape(oh, ow) <= step
        so_far[done] = fmap[done]
        right.imshow(np.where(done, fmap, 0.0), cmap="RdBu_r", vmin=-limit, vmax=limit)
        right.imshow(np.where(done, np.nan, 1.0), cmap="Greys", vmin=0, vmax=4)
        _write_values(right, so_far, np.where(done, fmap, 0.0), "RdBu_r", -limit, limit,
                      fmt, 6.5)
        right.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=2.5, ec="C1"))
        right.set_title(f"out[{i}, {j}] = {fmt.format(fmap[i, j])}", fontsize=8)
        for ax in (left, right):
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(title or f"A {kh}×{kw} window slides over a {image.shape[0]}×{image.shape[1]} "
                 f"image (stride {stride}): {oh * ow} steps, one output each")
    fig.tight_layout()
    return fig


def _volume(ax, colours, limit, title):
    """Draw one volume of voxels, ``colours`` of shape (W, C, H, 4), on a common scale."""
    W, C, H = colours.shape[:3]
    faces = ax.voxels(np.ones((W, C, H), dtype=bool), facecolors=colours,
                      edgecolor=(0, 0, 0, 0.35), linewidth=0.4)
    for centre, set_lim in ((W / 2, ax.set_xlim), (C / 2, ax.set_ylim), (H / 2, ax.set_zlim)):
        set_lim(centre - limit / 2, centre + limit / 2)
    ax.set_box_aspect((1, 1, 1), zoom=1.2)
    ax.view_init(elev=20, azim=-60)
    ax.set_axis_off()
    ax.set_title(title, fontsize=9)
    return faces


def conv_volume_figure(in_shape=(5, 5, 3), kernel_shape=(3, 3, 3, 2), position=(1, 1),
                       title=None):
    """A 3-D picture of one conv layer: input volume, filters, output volume.

    ``in_shape`` is (H, W, C_in) and ``kernel_shape`` (KH, KW, C_in, C_out);
    stride 1, no padding. The window at output ``position`` (row, column) is
    drawn through all input channels, each filter as its own block (as deep as
    the input, in its own colour), and the output volume with one channel per
    filter; the outputs at ``position`` take their filter's colour. All the
    volumes are drawn on one scale.
    """
    H, W, C_in = in_shape
    KH, KW, c_in_k, C_out = kernel_shape
    if c_in_k != C_in:
        raise ValueError(f"the filters are {c_in_k} deep, the input {C_in}: they must agree")
    OH, OW = H - KH + 1, W - KW + 1
    i, j = position
    if not (0 <= i < OH and 0 <= j < OW):
        raise ValueError(f"position {position} is outside the {OH}×{OW} output")
    limit = max(H, W, C_in, C_out) + 1
    fig = plt.figure(figsize=(2.6 * (C_out + 2), 3.4))
    grid = fig.add_gridspec(1, C_out + 2, wspace=0.15)
    axes = [fig.add_subplot(grid[0, k], projection="3d") for k in range(C_out + 2)]

    # voxel (x, y, z) = (column, channel, height above the bottom row)
    grey = np.array(to_rgba("0.6", 0.25))
    cells = np.tile(grey, (W, C_in, H, 1))
    cells[j:j + KW, :, H - i - KH:H - i] = to_rgba("C0", 0.8)
    _volume(axes[0], cells, limit, f"input {H}×{W}×{C_in}\nwindow at ({i}, {j}), all {C_in} "
            "channels")
    for o in range(C_out):
        block = np.tile(np.array(to_rgba(f"C{o}", 0.8)), (KW, C_in, KH, 1))
        name = f"{C_out} filters, each {KH}×{KW}×{C_in}\n" if o == 0 else "\n"
        _volume(axes[1 + o], block, limit, f"{name}filter {o}")
    cells = np.tile(grey, (OW, C_out, OH, 1))
    for o in range(C_out):
        cells[j, o, OH - 1 - i] = to_rgba(f"C{o}", 0.95)
    _volume(axes[-1], cells, limit, f"output {OH}×{OW}×{C_out}\noutputs at ({i}, {j})")

    for left, right, symbol in ((axes[0], axes[1], "⋆"), (axes[-2], axes[-1], "→")):
        a, b = left.get_position(), right.get_position()
        fig.text((a.x1 + b.x0) / 2, (a.y0 + a.y1) / 2, symbol, ha="center", va="center",
                 fontsize=22)
    fig.suptitle(title or "Every filter reads the whole depth of its window and writes one "
                 "output channel", fontsize=10)
    return fig
