"""Every figure's look in one place. Functions return the figure; ``save`` writes it to figures/."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from . import data
from .classes import CLASSES, LONG_NAMES, PAPER_COUNTS

FIGURES = data.ROOT / "figures"
CLASS_COLOURS = {"E": "#d62728", "S0": "#ff7f0e", "Sp": "#1f77b4", "Irr+Misc": "#2ca02c"}
plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 110, "axes.titlesize": 11, "font.size": 10})


def save(fig, name: str) -> Path:
    FIGURES.mkdir(exist_ok=True)
    path = FIGURES / f"{name}.png"
    fig.savefig(path, bbox_inches="tight")
    return path


def show_stamp(ax, image, title: str | None = None, fontsize: int = 8):
    """A normalised (asinh-stretched) stamp in grey, clipped at its 99.7th percentile."""
    ax.imshow(image, cmap="gray", origin="lower", vmin=0.0, vmax=max(np.percentile(image, 99.7), 1e-3),
              interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=fontsize)


def gallery(images, labels, per_class: int = 8, seed: int = 0, caption=None, title: str | None = None):
    """``per_class`` random galaxies of each class, one row per class (images already normalised)."""
    rng = np.random.default_rng(seed)
    present = [c for c in range(len(CLASSES)) if np.any(labels == c)]
    fig, axes = plt.subplots(len(present), per_class, figsize=(1.6 * per_class, 1.75 * len(present)),
                             squeeze=False)
    for row, c in zip(axes, present):
        idx = rng.choice(np.nonzero(labels == c)[0], size=min(per_class, np.sum(labels == c)), replace=False)
        for ax, i in zip(row, idx):
            show_stamp(ax, images[i], caption(i) if caption else None, fontsize=7)
        for ax in row[len(idx):]:
            ax.axis("off")
        row[0].set_ylabel(f"{CLASSES[c]}\n({LONG_NAMES[CLASSES[c]]})", fontsize=9)
    fig.suptitle(title or "Random galaxies of each class (g band, asinh stretch; 110x110 px = 43.6\")")
    fig.tight_layout()
    return fig


def class_counts(counts: dict, reference: dict = PAPER_COUNTS, title: str = ""):
    """Bar chart of class counts beside the paper's (as fractions, so any n compares)."""
    x = np.arange(len(CLASSES))
    n, n_ref = sum(counts.values()), sum(reference.values())
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.bar(x - 0.2, [reference[c] / n_ref for c in CLASSES], 0.4, label=f"paper (n = {n_ref})", color="0.6")
    ax.bar(x + 0.2, [counts[c] / n for c in CLASSES], 0.4, label=f"this set (n = {n})",
           color=[CLASS_COLOURS[c] for c in CLASSES])
    ax.set_xticks(x, CLASSES)
    ax.set_ylabel("fraction of galaxies")
    ax.set_xlabel("class")
    ax.set_title(title or "Class proportions: Nair & Abraham (2010) as in the paper vs this set")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def forty_views(stamp):
    """The 40 augmented views of one (normalised) stamp: 5 crops x 4 rotations x 2 mirrors."""
    fig, axes = plt.subplots(5, 8, figsize=(12, 7.8))
    names = ("top-left", "top-right", "bottom-left", "bottom-right", "centre")
    for v in range(data.N_VIEWS):
        crop, turns, mirror = data.decode_view(v)
        ax = axes[crop, v % 8]
        show_stamp(ax, data.view(stamp, v), f"{90 * turns} deg{' + mirror' if mirror else ''}", fontsize=7)
        if v % 8 == 0:
            ax.set_ylabel(f"{names[crop]}\ncrop", fontsize=9)
    fig.suptitle("The paper's 40-fold augmentation of one galaxy: 100x100 crops of the 110x110 cutout "
                 "(4 corners + centre) x 4 rotations x 2 mirrors")
    fig.tight_layout()
    return fig


def parameter_distributions(meta, labels, names, xlabels=None):
    """Per-class histograms of stored generator parameters (one panel each)."""
    fig, axes = plt.subplots(1, len(names), figsize=(3.3 * len(names), 3.0))
    for k, (ax, name) in enumerate(zip(np.atleast_1d(axes), names)):
        values = meta[name]
        bins = np.linspace(np.nanmin(values), np.nanmax(values), 30)
        for c, cls in enumerate(CLASSES):
            sel = labels == c
            if sel.any():
                ax.hist(values[sel], bins=bins, histtype="step", density=True, lw=1.6,
                        color=CLASS_COLOURS[cls], label=cls)
        ax.set_xlabel(xlabels[k] if xlabels else name)
        ax.set_ylabel("density")
    np.atleast_1d(axes)[0].legend(frameon=False, fontsize=8)
    fig.suptitle("Physical parameters of the mock galaxies, per class")
    fig.tight_layout()
    return fig
