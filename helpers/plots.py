"""Every figure's look in one place. Functions return the figure; ``save`` writes it to figures/."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from . import data
from .classes import CLASSES, LONG_NAMES, PAPER_COUNTS, scheme_classes

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


def results_vs_paper(records: list[dict], model: str = "C2"):
    """The network's accuracy and per-class recall beside the paper's, 3-way and 4-way, one marker per
    profile (mean over its seeds), with 95 % Wilson intervals from the confusion counts (the envelope
    of its seeds' intervals where there are several)."""
    from . import paper
    from .evaluate import wilson_ci
    from .report import PROFILE_ORDER
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), gridspec_kw={"width_ratios": [4, 5]})
    colours = {"smoke": "0.4", "quick": "C0", "full": "C1", "paper": "C3"}
    for ax, scheme in zip(axes, ("3way", "4way")):
        classes = list(scheme_classes(scheme))
        labels = ["accuracy"] + [f"{c}\nrecall" for c in classes]
        x = np.arange(len(labels))
        ref = [paper.ACCURACY.get((model, scheme), np.nan)]
        ref += list(paper.recall_c2(scheme)) if model == "C2" else [np.nan] * len(classes)
        ax.bar(x, ref, 0.8, color="0.82", label="paper, real SDSS")
        runs = {p: [r for r in records if (r.get("model"), r.get("scheme"), r.get("profile")) == (model, scheme, p)
                    and r.get("confusion")] for p in PROFILE_ORDER[::-1]}
        runs = {p: rs for p, rs in runs.items() if rs}
        width = 0.8 / max(len(runs), 1)
        for k, (prof, rs) in enumerate(runs.items()):
            cms = [np.asarray(r["confusion"]) for r in rs]
            hits = [[np.trace(cm)] + list(np.diag(cm)) for cm in cms]
            totals = [[cm.sum()] + list(cm.sum(1)) for cm in cms]
            value = np.mean(np.divide(hits, totals), axis=0)
            bounds = np.array([[wilson_ci(h, n) for h, n in zip(hs, ns)] for hs, ns in zip(hits, totals)])
            lo, hi = bounds[..., 0].min(0), bounds[..., 1].max(0)
            seeds = f"{len(rs)} seeds" if len(rs) > 1 else "1 seed"
            ax.errorbar(x - 0.4 + width * (k + 0.5), value, yerr=[value - lo, hi - value], fmt="o", capsize=3, ms=6,
                        color=colours.get(prof, f"C{k}"), label=f"mock, {prof} profile ({seeds}, {totals[0][0]} test)")
        ax.set_xticks(x, labels)
        ax.set(ylim=(0, 1.02), ylabel="accuracy or recall", title=f"{model} {scheme[0]}-way: " + " / ".join(classes))
        ax.grid(axis="y", lw=0.4, alpha=0.6)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, frameon=False, fontsize=9)
    fig.suptitle(f"{model} on the mock set (markers, 95 % intervals) against the paper's {model} on real SDSS "
                 "galaxies (bars)")
    fig.tight_layout()
    return fig


def misclassified_effects(record: dict):
    """What the misclassified galaxies have in common, from one interpretation record (notebook 05):
    for each confusion (true class called another), the rank-biserial effect size of each physical
    parameter, misclassified against correctly classified galaxies; bold with * where Holm p < 0.05."""
    rows = [x for x in record["confusions"] if x["tests"]]
    params = list(record["parameters"])
    r = np.full((len(rows), len(params)), np.nan)
    strong = np.zeros_like(r, dtype=bool)
    for i, x in enumerate(rows):
        for t in x["tests"]:
            j = params.index(t["parameter"])
            r[i, j], strong[i, j] = t["rank_biserial"], t["p_holm"] < 0.05
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(rows) + 2.2))
    im = ax.imshow(r, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    for i in range(len(rows)):
        for j in range(len(params)):
            if np.isfinite(r[i, j]):
                ax.text(j, i, f"{r[i, j]:+.2f}" + ("*" if strong[i, j] else ""), ha="center", va="center", fontsize=9,
                        fontweight="bold" if strong[i, j] else "normal", color="white" if abs(r[i, j]) > 0.6 else "black")
    ax.set_xticks(range(len(params)), [record["parameters"][p] for p in params], rotation=25, ha="right")
    ax.set_yticks(range(len(rows)), [f"{x['true']} called {x['predicted']} ({x['n_wrong']} vs {x['n_right']})" for x in rows])
    fig.colorbar(im, ax=ax, label="effect size r (> 0: the misclassified are higher)", shrink=0.9)
    ax.set_title(f"What the misclassified galaxies have in common ({record['dataset']}, {record['profile']} profile, "
                 f"{record['n_test']} test galaxies):\nrank-biserial r, misclassified vs correctly classified of the same "
                 "true class; * Holm-corrected p < 0.05", fontsize=10)
    fig.tight_layout()
    return fig


STAT_LABELS = {"size": "r50 / frame width", "concentration": "concentration C", "asymmetry": "asymmetry A",
               "smoothness": "smoothness S", "gini": "Gini", "m20": "M20", "ellipticity": "ellipticity"}


def mock_vs_real(real_images, real_groups, mock_images, mock_groups, real_stats, mock_stats, ks_tests, groups,
                 statistics, per_group: int = 8, seed: int = 0, crop: int | None = None, target: float | None = 0.2,
                 labels: dict | None = None, titles: tuple[str, str] | None = None, suptitle: str | None = None):
    """Top: ``per_group`` real and mock galaxies of each group side by side (JPEG-like stretched
    stamps, then the one pixel scaling ``data.normalise``; colour images (N, n, n, 3) as they are).
    Bottom: per-group histograms of each statistic of the galaxies measured well (``real_stats``,
    ``mock_stats``: tables with ``group`` and one column per statistic), mock against real, with the
    KS distance and its p-value in each panel (``ks_tests``: {"<group>/<statistic>": (D, p)}), in red
    where D is at least ``target`` (None: no target). ``labels`` names the statistics' axes."""
    rng = np.random.default_rng(seed)
    colour = np.ndim(real_images) == 4
    labels = labels or STAT_LABELS
    fig = plt.figure(figsize=(1.05 * 2 * per_group, 1.15 * len(groups) + 1.9 * len(groups) + 1.2))
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.15 * len(groups), 1.9 * len(groups)])
    axes = top.subplots(len(groups), 2 * per_group, squeeze=False)
    real_n, mock_n = (real_images, mock_images) if colour else (data.normalise(real_images), data.normalise(mock_images))
    for row, g in zip(axes, groups):
        for side, (imgs, grp) in enumerate(((real_n, real_groups), (mock_n, mock_groups))):
            idx = np.nonzero(np.asarray(grp) == g)[0]
            idx = rng.choice(idx, size=min(per_group, len(idx)), replace=False)
            for k in range(per_group):
                ax = row[side * per_group + k]
                if k >= len(idx):
                    ax.axis("off")
                elif colour:
                    ax.imshow(imgs[idx[k]], origin="lower", interpolation="nearest")
                    ax.set_xticks([])
                    ax.set_yticks([])
                else:
                    show_stamp(ax, imgs[idx[k]])
        row[0].set_ylabel(g, fontsize=10)
    real_title, mock_title = titles or ("real SDSS (GZ1), blue channel" + (f", central {crop} px" if crop else ""),
                                        "mock (GalSim), JPEG-like asinh stretch")
    axes[0, 0].set_title(real_title, fontsize=9, loc="left")
    axes[0, per_group].set_title(mock_title, fontsize=9, loc="left")
    top.suptitle(suptitle or f"Real (left {per_group}) and mock (right {per_group}) galaxies per class, same stretch "
                             f"and scaling, 110x110 px frames")
    hax = bottom.subplots(len(groups), len(statistics), squeeze=False)
    for i, g in enumerate(groups):
        for j, s in enumerate(statistics):
            ax = hax[i, j]
            a = real_stats.loc[real_stats["group"] == g, s].dropna()
            b = mock_stats.loc[mock_stats["group"] == g, s].dropna()
            both = np.concatenate([a, b])
            if len(both) == 0:
                ax.axis("off")
                continue
            bins = np.linspace(*np.nanpercentile(both, [1, 99]), 20)
            ax.hist(a, bins=bins, density=True, histtype="stepfilled", alpha=0.35, color="0.3",
                    label=f"real ({len(a)})")
            ax.hist(b, bins=bins, density=True, histtype="step", lw=1.6, color="C0", label=f"mock ({len(b)})")
            if f"{g}/{s}" in ks_tests:
                d, p = ks_tests[f"{g}/{s}"]
                ax.text(0.97, 0.95, f"KS {d:.3f}\np {p:.2g}", transform=ax.transAxes, ha="right", va="top",
                        fontsize=8, color="C3" if (target is not None and d >= target and s != "size") else "black")
            ax.tick_params(labelsize=7)
            ax.set_yticks([])
            if i == len(groups) - 1:
                ax.set_xlabel(labels.get(s, s), fontsize=9)
            if j == 0:
                ax.set_ylabel(f"{g}\ndensity", fontsize=9)
            if i == len(groups) - 1 and j == 0:   # below the panels: inside, it would cover a histogram or its KS
                ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.32), ncol=2)
    red = f", in red where >= {target} (the target for shape statistics)" if target is not None else ""
    bottom.suptitle(f"{'statmorph statistics' if not colour else 'Statistics'} per class, mock vs real: KS distance{red},"
                    f"\nand p, the chance of a distance as large were both drawn from one distribution")
    return fig


def discriminator(records: dict, shown: dict, target: float = 0.7):
    """The classifier two-sample test. Top: its AUC (real against mock), overall and per group, for each
    mock of ``records`` ({name: discriminator record}): the pooled out-of-fold AUC with its bootstrap 95 %
    interval, each fold's AUC as a dot. Below, per group of ``shown`` (realism.giveaways): the mock stamps
    the discriminator is surest are mock and the real ones it is surest are real, as the network sees them,
    each above its integrated-gradients saliency for the call it made (smoothed by a Gaussian of 1 px for
    the eye: one image's gradients in bfloat16 are speckled pixel to pixel)."""
    from scipy.ndimage import gaussian_filter
    groups = list(shown)
    n = max(len(p["index"]) for p in shown.values())
    fig = plt.figure(figsize=(1.45 * n + 1.0, 3.0 + 3.5 * len(groups)))
    top, *rows = fig.subfigures(1 + len(groups), 1, height_ratios=[3.0] + [3.5] * len(groups))
    ax = top.subplots()
    first = next(iter(records.values()))
    labels = ["all", *first["groups"]]
    for k, (name, rec) in enumerate(records.items()):
        for j, g in enumerate(labels):
            s = rec if g == "all" else rec["groups"].get(g)
            if s is None:
                continue
            x = j + (k - (len(records) - 1) / 2) * 0.25
            ax.errorbar(x, s["auc"], yerr=[[s["auc"] - s["ci95"][0]], [s["ci95"][1] - s["auc"]]], fmt="o", ms=6,
                        color=f"C{k}", capsize=3, label=(name if "mock" in name else f"{name} mock") if j == 0 else None)
            folds = [a for a in s["folds"] if a is not None]
            ax.plot(np.full(len(folds), x + 0.07), folds, ".", color=f"C{k}", alpha=0.5, ms=4)
            ax.annotate(f"{s['auc']:.2f}", (x - 0.06, s["auc"]), ha="right", va="center", fontsize=8, color=f"C{k}")
    ax.axhline(0.5, color="0.4", lw=1, ls=":")
    ax.axhline(target, color="C3", lw=1, ls="--")
    ax.text(len(labels) - 0.45, 0.5, "cannot be told apart ", va="bottom", ha="right", fontsize=8, color="0.4")
    ax.text(len(labels) - 0.45, target, f"target {target} ", va="bottom", ha="right", fontsize=8, color="C3")
    real_n = [first["n_real"]] + [first["groups"][g]["n_negative"] for g in labels[1:]]
    ax.set_xticks(range(len(labels)), [f"{g}\n({m} real)" for g, m in zip(labels, real_n)])
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.set_ylim(min(0.4, ax.get_ylim()[0]), 1.02)
    ax.set_ylabel("AUC, real vs mock")
    ax.legend(fontsize=8, loc="lower left", frameon=False)
    ax.set_title(f"Can C2 tell the mock from the real sky? Out-of-fold AUC ({first['k']} folds; bars: bootstrap "
                 f"95 %, dots: each fold)", fontsize=10)
    for g, sub in zip(groups, rows):
        p = shown[g]
        n_mock = int(np.sum(p["is_mock"]))
        axes = sub.subplots(2, n, squeeze=False, gridspec_kw={"hspace": 0.08, "wspace": 0.06, "top": 0.8})
        for a in axes.ravel():
            a.axis("off")
        for j in range(len(p["index"])):
            mock_side = bool(p["is_mock"][j])
            col = j if mock_side else n - (len(p["index"]) - n_mock) + (j - n_mock)
            sure = p["score"][j] if mock_side else 1 - p["score"][j]
            show_stamp(axes[0, col], p["stamps"][j], f"{'mock' if mock_side else 'real'}: P {sure:.3f}", fontsize=8)
            m = gaussian_filter(p["integrated_gradients"][j], 1.0)
            lim = max(np.percentile(np.abs(m), 99.5), 1e-9)
            axes[1, col].imshow(m, cmap="RdBu_r", origin="lower", vmin=-lim, vmax=lim, interpolation="nearest")
            axes[0, col].axis("on")
        sub.suptitle(f"{g}: the {n_mock} mock stamps it is surest are mock (left), the {len(p['index']) - n_mock} "
                     f"real ones surest real (right);\nbelow each, integrated gradients, smoothed 1 px (red: for that "
                     f"call, blue: against)", fontsize=9)
    return fig


# ----------------------------------------------------------------------------- binary and hierarchical (notebook 03)

def pairwise_matrix(matrix, classes, title: str, value_label: str = "balanced accuracy",
                    notes=None, vmin: float = 0.5, vmax: float = 1.0):
    """A symmetric class-by-class matrix of a binary score (e.g. the balanced accuracy of each pair's
    classifier), read like a distance map: high = easy to tell apart. The diagonal is left blank.
    ``notes``: optional {(i, j): text} written under the value (both triangles)."""
    matrix = np.asarray(matrix, dtype=float)
    k = len(classes)
    fig, ax = plt.subplots(figsize=(5.6, 4.8))
    cmap = plt.get_cmap("viridis").copy()
    cmap.set_bad("white")
    im = ax.imshow(np.ma.masked_invalid(matrix), cmap=cmap, vmin=vmin, vmax=vmax)
    for i in range(k):
        for j in range(k):
            if i == j:
                ax.text(j, i, "-", ha="center", va="center", color="0.6")
                continue
            if np.isnan(matrix[i, j]):
                continue
            text = f"{matrix[i, j]:.2f}"
            note = (notes or {}).get((i, j)) or (notes or {}).get((j, i))
            if note:
                text += f"\n{note}"
            light = matrix[i, j] < vmin + 0.6 * (vmax - vmin)
            ax.text(j, i, text, ha="center", va="center", fontsize=8.5, color="white" if light else "black")
    ax.set_xticks(range(k), classes)
    ax.set_yticks(range(k), classes)
    ax.set_xlabel("one class of the pair")
    ax.set_ylabel("the other class")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label=f"{value_label} (0.5 = chance)", fraction=0.046, pad=0.04)
    fig.tight_layout()
    return fig


def roc_panels(panels: dict, suptitle: str = "ROC curves of the binary classifiers (test galaxies)"):
    """``panels``: {panel title: {label: (false-positive rate, true-positive rate, AUC)}}, side by side."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels), 4.6), squeeze=False)
    for ax, (title, curves) in zip(axes[0], panels.items()):
        ax.plot([0, 1], [0, 1], ls=":", color="0.5", lw=1, label="chance (AUC 0.50)")
        for k, (label, (fpr, tpr, auc)) in enumerate(curves.items()):
            ax.plot(fpr, tpr, lw=1.8, color=f"C{k}", label=f"{label} (AUC {auc:.3f})")
        ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), aspect="equal", title=title,
               xlabel="false-positive rate (class A called class B)",
               ylabel="true-positive rate (class B found)")
        ax.legend(frameon=False, fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def combination_bars(panels: dict, lines: dict | None = None, chance: dict | None = None,
                     suptitle: str = "Binary networks combined against the direct network"):
    """One panel per scheme: a horizontal bar of test accuracy per classifier and a black diamond at
    its balanced accuracy. ``panels``: {panel title: {classifier: (accuracy, balanced accuracy)}};
    names starting with 'C2' are drawn grey, names ending in '+priors' orange, the others blue.
    ``lines``: {panel title: {label: accuracy}} drawn as vertical reference lines (the paper's), the
    same labels in every panel; ``chance``: {panel title: chance level}. A panel title's text before
    ':' names the panel in the legend."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    n_rows = max(len(v) for v in panels.values())
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 0.42 * n_rows + 2.3), squeeze=False)
    styles = ("--", ":", "-.")
    colour = lambda m: "0.55" if m.startswith("C2") else ("#ff7f0e" if m.endswith("+priors") else "#1f77b4")
    for ax, (title, values) in zip(axes[0], panels.items()):
        names = list(values)[::-1]
        y = np.arange(len(names))
        acc = [values[m][0] for m in names]
        ax.barh(y, acc, 0.7, color=[colour(m) for m in names])
        for yi, a in zip(y, acc):
            ax.text(0.01, yi, f"{100 * a:.1f} %", va="center", ha="left", fontsize=8, color="white",
                    fontweight="bold")
        ax.scatter([values[m][1] for m in names], y, marker="D", s=24, color="k", zorder=3)
        for j, v in enumerate((lines or {}).get(title, {}).values()):
            ax.axvline(v, color="#d62728", ls=styles[j % 3], lw=1.4)
        if chance and title in chance:
            ax.axvline(chance[title], color="0.3", lw=0.8)
        ax.set_yticks(y, names, fontsize=8.5)
        ax.set(xlim=(0, 1), xlabel="test accuracy (bars); balanced accuracy (diamonds)", title=title)
    short = [t.split(":")[0] for t in panels]
    key = [Patch(color="0.55", label="direct C2 (notebook 2)"),
           Patch(color="#1f77b4", label="binary networks as trained (balanced sides)"),
           Patch(color="#ff7f0e", label="binary networks, probabilities restored to training priors"),
           Line2D([], [], marker="D", color="k", ls="", label="balanced accuracy (mean recall)")]
    labels = list(dict.fromkeys(k for v in (lines or {}).values() for k in v))
    for j, label in enumerate(labels):
        vals = ", ".join(f"{100 * lines[t][label]:.0f} % ({n})" for t, n in zip(panels, short) if label in lines.get(t, {}))
        key.append(Line2D([], [], color="#d62728", ls=styles[j % 3], lw=1.4, label=f"{label}: {vals}"))
    if chance:
        key.append(Line2D([], [], color="0.3", lw=0.8, label="chance: " + ", ".join(
            f"{100 * chance[t]:.0f} % ({n})" for t, n in zip(panels, short) if t in chance)))
    fig.legend(handles=key, loc="lower center", ncol=3, frameon=False, fontsize=8)
    fig.suptitle(suptitle)
    fig.tight_layout(rect=(0, 0.13, 1, 1))
    return fig


# ----------------------------------------------------------------------------- interpretation (notebook 05)

def feature_maps(stamp, maps, title: str, per_layer: int = 8):
    """The input stamp (top row), then one row per layer of ``maps`` ([(label, (C, H, W))], from
    ``interpret.feature_maps``) showing its ``per_layer`` most active maps (highest mean), each on its
    own grey scale (black = 0, the ReLU floor)."""
    fig, axes = plt.subplots(len(maps) + 1, per_layer + 1, figsize=(1.3 * (per_layer + 1) + 0.8, 1.35 * (len(maps) + 1)),
                             squeeze=False, gridspec_kw={"width_ratios": [1.6] + [1] * per_layer})
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[0, 2:]:
        ax.axis("off")
    axes[0, 0].axis("off")
    axes[0, 0].text(1.0, 0.5, f"input\n{stamp.shape[0]}x{stamp.shape[1]}", ha="right", va="center", fontsize=8,
                    transform=axes[0, 0].transAxes)
    show_stamp(axes[0, 1], stamp)
    for r, (label, m) in enumerate(maps, start=1):
        axes[r, 0].axis("off")
        axes[r, 0].text(1.0, 0.5, label.replace(": ", ":\n"), ha="right", va="center", fontsize=8,
                        transform=axes[r, 0].transAxes)
        order = np.argsort(m.reshape(len(m), -1).mean(1))[::-1][:per_layer]
        for k, ch in enumerate(order):
            axes[r, k + 1].imshow(m[ch], cmap="gray", origin="lower", vmin=0, vmax=max(m[ch].max(), 1e-6),
                                  interpolation="nearest")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def colour_gallery(images, labels, names, per_class: int = 6, seed: int = 0, title: str | None = None):
    """``per_class`` random colour images (uint8 RGB) of each class present, one row per class."""
    rng = np.random.default_rng(seed)
    present = [c for c in range(len(names)) if np.any(labels == c)]
    fig, axes = plt.subplots(len(present), per_class, figsize=(1.45 * per_class + 2.4, 1.5 * len(present)),
                             squeeze=False)
    for row, c in zip(axes, present):
        idx = rng.choice(np.nonzero(labels == c)[0], size=min(per_class, np.sum(labels == c)), replace=False)
        for ax, i in zip(row, idx):
            ax.imshow(images[i], origin="lower", interpolation="nearest")
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
        for ax in row[len(idx):]:
            ax.axis("off")
        row[0].set_ylabel(f"{c}: {names[c]}".replace(", ", ",\n", 1), fontsize=8, rotation=0, ha="right", va="center")
    fig.suptitle(title or "Random galaxies of each class (colour: i, r, g as R, G, B)")
    fig.tight_layout()
    return fig


def saliency_grid(stamps, maps: dict, titles, title: str):
    """One column per galaxy: the stamp, then each attribution map of ``maps`` ({method: (B, S, S)}).
    Integrated gradients in red (for the class) and blue (against), symmetric about 0; Grad-CAM as a
    heat map over the faded stamp."""
    names = {"integrated_gradients": "integrated gradients\n(red: for the class,\nblue: against)",
             "gradcam": "Grad-CAM, last conv block\n(over the stamp)"}
    n = len(stamps)
    fig, axes = plt.subplots(1 + len(maps), n, figsize=(1.75 * n + 1.2, 1.85 * (1 + len(maps))), squeeze=False)
    for j in range(n):
        show_stamp(axes[0, j], stamps[j], titles[j], fontsize=7.5)
        for r, (method, m) in enumerate(maps.items(), start=1):
            ax = axes[r, j]
            if method == "gradcam":
                show_stamp(ax, stamps[j])
                ax.imshow(m[j], cmap="inferno", origin="lower", alpha=0.55, interpolation="bilinear",
                          vmin=0, vmax=max(m[j].max(), 1e-9))
            else:
                lim = max(np.percentile(np.abs(m[j]), 99.5), 1e-9)
                ax.imshow(m[j], cmap="RdBu_r", origin="lower", vmin=-lim, vmax=lim, interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(names.get(method, method), fontsize=7.5)
    axes[0, 0].set_ylabel("galaxy\n(centre view)", fontsize=7.5)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_physics(meta, y_true, y_pred, classes, entries, parameters: dict, title: str):
    """Cumulative distributions of physical parameters: for each tested confusion (a row; entries from
    ``interpret.confusion_physics``), the misclassified galaxies (coloured as the predicted class)
    against the correctly classified ones of their true class (grey), with n, the rank-biserial r and the
    Holm-adjusted p of the Mann-Whitney U test in each panel."""
    rows = [e for e in entries if e["tests"]]
    names = [p for p in parameters if any(t["parameter"] == p for e in rows for t in e["tests"])]
    fig, axes = plt.subplots(max(len(rows), 1), max(len(names), 1), squeeze=False,
                             figsize=(2.4 * max(len(names), 1), 2.25 * max(len(rows), 1) + 0.6))
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    for i, e in enumerate(rows):
        t, p = list(classes).index(e["true"]), list(classes).index(e["predicted"])
        tests = {x["parameter"]: x for x in e["tests"]}
        for j, name in enumerate(names):
            ax = axes[i, j]
            if name not in tests:
                ax.axis("off")
                continue
            v = meta[name].astype(float)
            for sel, colour, label in (((y_true == t) & (y_pred == t), "0.45", f"{e['true']} right"),
                                       ((y_true == t) & (y_pred == p), CLASS_COLOURS.get(e["predicted"], "C3"),
                                        f"{e['true']} called {e['predicted']}")):
                x = np.sort(v[sel][np.isfinite(v[sel])])
                ax.step(x, np.arange(1, len(x) + 1) / len(x), where="post", color=colour, lw=1.6,
                        label=f"{label} ({len(x)})")
            s = tests[name]
            strong = s["p_holm"] < 0.05
            ax.text(0.03, 0.97, f"r = {s['rank_biserial']:+.2f}\np(Holm) = {s['p_holm']:.2g}", transform=ax.transAxes,
                    va="top", fontsize=7.5, color="C3" if strong else "black",
                    fontweight="bold" if strong else "normal",
                    bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1})
            ax.tick_params(labelsize=7)
            ax.set_xlabel(parameters[name], fontsize=8)
            if j == 0:
                ax.set_ylabel("cumulative fraction", fontsize=8)
                ax.legend(frameon=False, fontsize=7, loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def boundary_accuracy(rows: list[dict], title: str):
    """``rows`` from ``interpret.boundary_claim``: at each distance of the true T-type from the nearest class
    boundary, the network's accuracy against the catalogue's labels and the catalogue labels' agreement with
    the truth (the ceiling they set), with Wilson 95 % intervals and the number of galaxies."""
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.array([r["distance"] for r in rows])
    for key, label, colour, shift in (("label_agreement", "catalogue label = true class (the ceiling)", "0.4", -0.04),
                                      ("accuracy", "network = catalogue label (what the paper measures)", "C0", 0.04)):
        y = np.array([r[key] for r in rows])
        lo, hi = np.array([r[f"{key}_ci95"] for r in rows]).T
        ax.errorbar(x + shift, y, yerr=[y - lo, hi - y], fmt="o-", color=colour, capsize=3, label=label)
    for r in rows:
        ax.annotate(f"n={r['n']}", (r["distance"], 0.02), ha="center", fontsize=8, color="0.3")
    ax.set(xlabel="distance of the true T-type from the nearest class boundary [T-types]",
           ylabel="fraction of the test galaxies", ylim=(0, 1.05), title=title)
    ax.set_xticks(x)
    ax.legend(frameon=False, loc="lower right", fontsize=9)
    fig.tight_layout()
    return fig


def mapping_balance(counts: dict, title: str = "Class balance of each Galaxy10 mapping"):
    """``counts``: {mapping: {class or 'dropped': number}}; stacked horizontal bars, one per mapping."""
    colours = {**CLASS_COLOURS, "dropped": "0.8"}
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.7 * len(counts)))
    for y, (name, cs) in enumerate(counts.items()):
        total, left = sum(cs.values()), 0
        for cls, n in cs.items():
            if n == 0:
                continue
            ax.barh(y, n / total, left=left, color=colours[cls], edgecolor="white")
            ax.text(left + n / total / 2, y, f"{cls}\n{n}", ha="center", va="center", fontsize=8)
            left += n / total
    ax.set_yticks(range(len(counts)), list(counts))
    ax.invert_yaxis()
    ax.set(xlim=(0, 1), xlabel="fraction of the galaxies (number in each bar)", title=title)
    fig.tight_layout()
    return fig


def rebalancing_over_seeds(records: list[dict]):
    """Each rebalancing strategy against none on the same seeds (results/galaxy10_rebalancing.json): per
    metric, every seed's paired difference as a dot and their mean with its 95 % t interval."""
    from .galaxy10 import paired_summary
    labels = {"balanced_accuracy": "balanced accuracy", "S0_recall": "lenticular (S0) recall"}
    summary = paired_summary(records)
    others = [s for s in summary if "vs_none" in summary[s]["balanced_accuracy"]]
    fig, axes = plt.subplots(1, len(labels), figsize=(11, 3.8), sharey=True)
    for ax, (m, label) in zip(axes, labels.items()):
        for k, s in enumerate(others):
            v = summary[s][m]["vs_none"]
            d = 100 * np.array(v["per_seed"])
            ax.plot(d, np.full(len(d), k) + np.linspace(-0.15, 0.15, len(d)), ".", color="0.6", ms=5)
            ax.errorbar(100 * v["difference"], k, xerr=[[100 * (v["difference"] - v["ci"][0])],
                                                        [100 * (v["ci"][1] - v["difference"])]],
                        fmt="o", color="C0", capsize=4, ms=7)
        ax.axvline(0, color="k", lw=0.8)
        ax.set_yticks(range(len(others)), others)
        ax.set_xlabel(f"{label}: strategy minus none (points)")
        ax.grid(axis="x", lw=0.4, alpha=0.6)
    n = min((summary[s]["balanced_accuracy"]["vs_none"]["seeds"] for s in others), default=0)
    fig.suptitle(f"Rebalancing on the mock Galaxy10 against none, {n} paired seeds: each seed (grey), "
                 f"the mean with its 95 % interval (blue)", fontsize=11)
    fig.tight_layout()
    return fig
