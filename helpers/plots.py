"""Every figure's look in one place. Functions return the figure; ``save`` writes it to figures/."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from . import data
from .classes import CLASSES, LONG_NAMES, PAPER_COUNTS

CLASS_COLOURS = {"E": "#d62728", "S0": "#ff7f0e", "Sp": "#1f77b4", "Irr+Misc": "#2ca02c"}
plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 110, "axes.titlesize": 11, "font.size": 10})


def save(fig, name: str) -> Path:
    data.FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    path = data.FIGURES_DIR / f"{name}.png"
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


def learning_curves(histories: dict, title: str = "Learning curves (train dashed, validation solid)"):
    """``histories``: {label: history with train_loss, val_loss, train_acc, val_acc per epoch}."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.8))
    for k, (label, h) in enumerate(histories.items()):
        colour = f"C{k}"
        epochs = np.arange(1, len(h["train_loss"]) + 1)
        for ax, key in ((ax_loss, "loss"), (ax_acc, "acc")):
            ax.plot(epochs, h[f"train_{key}"], "--", color=colour, lw=1.2)
            ax.plot(epochs, h[f"val_{key}"], "-", color=colour, lw=1.8, label=label)
        if h.get("best_epoch"):
            ax_loss.axvline(h["best_epoch"], color=colour, lw=0.6, ls=":")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss", yscale="log")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    ax_acc.legend(frameon=False, fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion(ax, matrix, classes, title: str, cmap: str = "Blues"):
    """A confusion matrix normalised by true class (rows sum to 1), annotated in the paper's form."""
    matrix = np.asarray(matrix, dtype=float)
    ax.imshow(matrix, cmap=cmap, vmin=0, vmax=1)
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center",
                    color="white" if matrix[i, j] > 0.6 else "black", fontsize=9)
    ax.set_xticks(range(len(classes)), classes)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title, fontsize=10)


def confusion_grid(panels: dict, ncols: int = 2, suptitle: str = "Test confusion matrices, normalised by true class"):
    """``panels``: {title: (matrix, classes)} drawn in a grid."""
    n = len(panels)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.9 * nrows), squeeze=False)
    for ax, (title, (matrix, classes)) in zip(axes.ravel(), panels.items()):
        confusion(ax, matrix, classes, title)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def recall_vs_paper(ours: dict, paper: dict, classes, title: str):
    """Per-class recall bars: this run (one bar per model) against the paper's C2."""
    x = np.arange(len(classes))
    width = 0.8 / (len(ours) + 1)
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    ax.bar(x - 0.4 + width / 2, paper, width, color="0.6", label="paper C2")
    for k, (label, recall) in enumerate(ours.items(), start=1):
        ax.bar(x - 0.4 + width * (k + 0.5), recall, width, label=label, color=f"C{k - 1}")
    ax.set_xticks(x, classes)
    ax.set(ylim=(0, 1), ylabel="recall (fraction of the class found)", xlabel="true class", title=title)
    ax.legend(frameon=False, fontsize=8, ncol=3)
    fig.tight_layout()
    return fig
