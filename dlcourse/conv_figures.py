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


def _box(filled, colours, origin, size, colour):
    """Fill the voxels of a box (x, y, z from ``origin``, extents ``size``) with ``colour``."""
    (x, y, z), (dx, dy, dz) = origin, size
    filled[x:x + dx, y:y + dy, z:z + dz] = True
    colours[x:x + dx, y:y + dy, z:z + dz] = to_rgba(colour, 0.25)


def conv_volume_figure(in_shape=(5, 5, 3), kernel_shape=(3, 3, 3, 2), position=(1, 1),
                       title=None):
    """A 3-D picture of one conv layer: input volume, filters, output volume.

    ``in_shape`` is (H, W, C_in) and ``kernel_shape`` (KH, KW, C_in, C_out);
    stride 1, no padding. The window at output ``position`` (row, column) is
    drawn through all input channels in the first filter's colour, each filter
    as its own box (as deep as the input), and the output volume with one
    channel per filter; the outputs at ``position`` take their filter's colour.
    """
    H, W, C_in = in_shape
    KH, KW, c_in_k, C_out = kernel_shape
    if c_in_k != C_in:
        raise ValueError(f"the filters are {c_in_k} deep, the input {C_in}: they must agree")
    OH, OW = H - KH + 1, W - KW + 1
    i, j = position
    if not (0 <= i < OH and 0 <= j < OW):
        raise ValueError(f"position {position} is outside the {OH}×{OW} output")
    gap = 4
    x_filters = W + gap
    x_out = x_filters + C_out * (KW + 2) - 2 + gap
    depth = max(C_in, C_out)
    shape = (x_out + OW + 2, depth, max(H, KH, OH))
    filled = np.zeros(shape, dtype=bool)
    colours = np.zeros((*shape, 4))
    top = shape[2]  # voxel z grows upwards; image row r sits at z = top - 1 - r

    def rows(r0, n):
        return top - r0 - n

    _box(filled, colours, (0, 0, rows(0, H)), (W, C_in, H), "0.6")
    window = (j, 0, rows(i, KH))
    filled[j:j + KW, :C_in, rows(i, KH):rows(i, KH) + KH] = True
    colours[j:j + KW, :C_in, rows(i, KH):rows(i, KH) + KH] = to_rgba("C0", 0.85)
    z_filter = rows((H - KH) // 2, KH)
    for o in range(C_out):
        _box(filled, colours, (x_filters + o * (KW + 2), 0, z_filter), (KW, C_in, KH), f"C{o}")
        colours[x_filters + o * (KW + 2):x_filters + o * (KW + 2) + KW, :C_in,
                z_filter:z_filter + KH, 3] = 0.8
    z_out = rows((H - OH) // 2, OH)
    _box(filled, colours, (x_out, 0, z_out), (OW, C_out, OH), "0.6")
    for o in range(C_out):
        colours[x_out + j, o, z_out + OH - 1 - i] = to_rgba(f"C{o}", 0.95)

    fig = plt.figure(figsize=(11, 3.6))
    ax = fig.add_subplot(projection="3d")
    faces = ax.voxels(filled, facecolors=colours, edgecolor=(0, 0, 0, 0.35), linewidth=0.4)
    for poly in faces.values():
        poly.set_clip_on(False)  # a 3-D axes is square: the wide scene reaches past its box
    ax.text(W / 2, 0, -1.5, f"input {H}×{W}×{C_in}", ha="center", fontsize=9)
    ax.text(x_filters + (C_out * (KW + 2) - 2) / 2, 0, z_filter - 1.5,
            f"{C_out} filters, each {KH}×{KW}×{C_in}", ha="center", fontsize=9)
    ax.text(x_out + OW / 2, 0, z_out - 1.5, f"output {OH}×{OW}×{C_out}", ha="center",
            fontsize=9)
    ax.text(window[0] + KW / 2, 0, top + 1.0, f"window at ({i}, {j}), all {C_in} channels",
            ha="center", fontsize=8, color="C0")
    middle = top / 2
    ax.text(W + gap / 2 - 0.5, 0, middle, "⋆", ha="center", va="center", fontsize=18)
    ax.text(x_out - gap / 2, 0, middle, "→", ha="center", va="center", fontsize=18)
    ax.set_box_aspect(shape, zoom=2.0)
    ax.view_init(elev=20, azim=-75)
    ax.set_axis_off()
    fig.subplots_adjust(left=0, right=1, bottom=-0.25, top=1.15)
    fig.suptitle(title or "Every filter reads the whole depth of its window and writes one "
                 "output channel", fontsize=10, y=0.97)
    return fig
