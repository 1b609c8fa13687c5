"""Looking inside a trained network (notebook 05): feature maps, saliency, and the physics of its mistakes.

* :func:`feature_maps` runs one galaxy through ``model.features`` layer by layer and keeps what each
  convolutional block (convolution, batch norm, ReLU) and each pooling hands on, as in the paper's
  figure of C2's feature maps.
* :func:`saliency` asks which pixels a class score depends on, with two methods of Captum (the PyTorch
  interpretability library): integrated gradients (Sundararajan et al. 2017) on the input pixels, from
  a blank-sky baseline (0 after ``data.normalise``), and Grad-CAM (Selvaraju et al. 2017) on the last
  convolutional block, upsampled to the input.
* :func:`confusion_physics` compares, for each confusion (true class t called p), the physical
  parameters of the misclassified galaxies with those of the galaxies of class t classified correctly:
  medians, a two-sided Mann-Whitney U test with its rank-biserial effect size, the two-sample KS
  test, and p-values corrected for the number of tests (Holm 1979). Confusions with fewer than
  ``min_n`` galaxies on either side are listed but not tested.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy import stats
from torch import nn

from . import data
from .train import make_batch

# Parameters compared between misclassified and correctly classified galaxies: the mock's stored
# generator parameters (helpers.mock.META_DTYPE) and the real catalogue's (download.SDSS_META_DTYPE);
# whichever are in the set's meta table are used.
PARAMETERS = {
    "log_mstar": "log stellar mass [M$_\\odot$]",
    "z": "redshift",
    "r_half_kpc": "half-light radius [kpc]",
    "r_half_arcsec": "half-light radius [arcsec]",
    "petro_r90": "Petrosian R90 [arcsec]",
    "bulge_fraction": "bulge-to-total B/T",
    "inclination_deg": "inclination [deg]",
    "axis_ratio": "axis ratio b/a",
    "snr": "signal-to-noise ratio",
    "g_mag": "apparent g [mag]",
}


def input_batch(images: np.ndarray, idx, input_size: int) -> torch.Tensor:
    """The centre view of galaxies ``idx`` as the network sees it: (B, 1, S, S)."""
    return make_batch(images, np.atleast_1d(idx), data.CENTRE_VIEW, input_size)


# ----------------------------------------------------------------------------- feature maps

@torch.no_grad()
def feature_maps(model: nn.Module, x: torch.Tensor) -> list[tuple[str, np.ndarray]]:
    """(label, maps (C, H, W)) after each convolutional block and each pooling of ``model.features``
    for one input ``x`` (1, 1, S, S). A block ends at its ReLU; labels read 'conv 2: 64 maps 18x18'."""
    model.eval()
    out, n_conv, kernel = [], 0, None
    h = x.to(next(model.parameters()).device).contiguous()
    for layer in model.features:
        h = layer(h)
        if isinstance(layer, nn.Conv2d):
            n_conv, kernel = n_conv + 1, layer.kernel_size[0]
        elif isinstance(layer, nn.ReLU):
            out.append((f"conv {n_conv} ({kernel}x{kernel}): {h.shape[1]} maps {h.shape[2]}x{h.shape[3]}",
                        h[0].cpu().numpy().copy()))
        elif isinstance(layer, nn.MaxPool2d):
            out.append((f"max-pool after conv {n_conv}: {h.shape[2]}x{h.shape[3]}", h[0].cpu().numpy().copy()))
    return out


# ----------------------------------------------------------------------------- saliency

def last_conv_block(model: nn.Module) -> nn.Module:
    """The last ReLU of ``model.features`` (the output of the last convolutional block)."""
    return [m for m in model.features if isinstance(m, nn.ReLU)][-1]


def saliency(model: nn.Module, x: torch.Tensor, target, n_steps: int = 64) -> dict[str, np.ndarray]:
    """Attribution maps (B, S, S) for the class indices ``target`` (one per input in ``x`` (B, 1, S, S)).

    'integrated_gradients': the pixel-by-pixel contribution to the class logit along a straight path
    from a blank sky (all zeros) to the image; the contributions add up to logit(image) - logit(sky).
    'gradcam': the class-gradient-weighted sum of the last block's maps, ReLU-ed, upsampled bilinearly
    (a coarse map: 5x5 at 50x50 inputs, 10x10 at 100x100). 'ig_delta' (B,): how far the integrated
    gradients miss that sum (the integral's numerical error).
    """
    from captum.attr import IntegratedGradients, LayerAttribution, LayerGradCam

    model.eval()
    x = x.to(next(model.parameters()).device).contiguous().requires_grad_(True)
    target = torch.as_tensor(np.atleast_1d(target), dtype=torch.long, device=x.device)
    ig, delta = IntegratedGradients(model).attribute(x, baselines=torch.zeros_like(x), target=target,
                                                     n_steps=n_steps, internal_batch_size=n_steps,
                                                     return_convergence_delta=True)
    cam = LayerGradCam(model, last_conv_block(model)).attribute(x, target=target, relu_attributions=True)
    cam = LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), interpolate_mode="bilinear")
    return {"integrated_gradients": ig[:, 0].detach().cpu().numpy(),
            "gradcam": cam[:, 0].detach().cpu().numpy(),
            # sum of the attributions minus (logit(image) - logit(sky)): the integral's numerical error
            "ig_delta": delta.detach().cpu().numpy()}


def pick_examples(y_true: np.ndarray, proba: np.ndarray, n_classes: int) -> list[tuple[int, bool]]:
    """(index, correct) pairs: for each true class, its most confidently right galaxy and its most
    confidently wrong one (the highest probability given to a wrong class), where there is one."""
    y_pred = proba.argmax(1)
    out = []
    for c in range(n_classes):
        right = np.nonzero((y_true == c) & (y_pred == c))[0]
        wrong = np.nonzero((y_true == c) & (y_pred != c))[0]
        if len(right):
            out.append((int(right[np.argmax(proba[right, c])]), True))
        if len(wrong):
            out.append((int(wrong[np.argmax(proba[wrong].max(1))]), False))
    return out


# ----------------------------------------------------------------------------- physics of mistakes

def holm(p_values) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (family-wise error control; NaN entries are left out)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.nonzero(~np.isnan(p))[0]
    order = ok[np.argsort(p[ok])]
    m, running = len(order), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def compare(wrong: np.ndarray, right: np.ndarray, alternative: str = "two-sided") -> dict:
    """Medians, Mann-Whitney U (``wrong`` against ``right``), rank-biserial r = 2U/(n1 n2) - 1 (+1: every
    misclassified galaxy above every correct one, 0: no shift) and the KS statistic of two samples."""
    wrong, right = np.asarray(wrong, float), np.asarray(right, float)
    wrong, right = wrong[np.isfinite(wrong)], right[np.isfinite(right)]
    u = stats.mannwhitneyu(wrong, right, alternative=alternative)
    ks = stats.ks_2samp(wrong, right)
    return {"n_wrong": len(wrong), "n_right": len(right),
            "median_wrong": float(np.median(wrong)), "median_right": float(np.median(right)),
            "mannwhitney_u": float(u.statistic), "p_value": float(u.pvalue),
            "rank_biserial": float(2 * u.statistic / (len(wrong) * len(right)) - 1),
            "ks_d": float(ks.statistic), "ks_p": float(ks.pvalue)}


def confusion_physics(meta: np.ndarray, y_true, y_pred, classes, parameters=None, min_n: int = 5) -> list[dict]:
    """One entry per confusion (true t, predicted p != t) that occurs: its counts and, when both the
    misclassified galaxies and the correctly classified galaxies of t number at least ``min_n``, a
    :func:`compare` per parameter, with ``p_holm`` adjusted over every test of the list.

    ``parameters``: meta fields to compare (default: those of :data:`PARAMETERS` in ``meta``).
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    names = meta.dtype.names
    parameters = [p for p in (parameters or PARAMETERS) if p in names]
    out = []
    for t, true_name in enumerate(classes):
        right = (y_true == t) & (y_pred == t)
        for p, pred_name in enumerate(classes):
            wrong = (y_true == t) & (y_pred == p)
            if p == t or not wrong.any():
                continue
            entry = {"true": true_name, "predicted": pred_name, "n_wrong": int(wrong.sum()),
                     "n_right": int(right.sum()), "n_true": int((y_true == t).sum()), "tests": []}
            if wrong.sum() >= min_n and right.sum() >= min_n:
                for name in parameters:
                    values = meta[name].astype(float)
                    if np.isfinite(values[wrong]).sum() >= min_n and np.isfinite(values[right]).sum() >= min_n:
                        entry["tests"].append({"parameter": name, **compare(values[wrong], values[right])})
            else:
                entry["not_tested"] = f"fewer than {min_n} galaxies misclassified or correctly classified"
            out.append(entry)
    tests = [test for e in out for test in e["tests"]]
    for test, adjusted in zip(tests, holm([test["p_value"] for test in tests])):
        test["p_holm"] = float(adjusted)
    return out


def boundary_claim(true_ttype, y_catalogue, y_pred) -> dict:
    """Do the galaxies the network gets wrong (against the catalogue's labels) lie nearer a class boundary in
    their *true* T-type than those it gets right? One pre-stated, one-sided hypothesis (Mann-Whitney U of
    :func:`classes.boundary_distance`; peculiar galaxies, off the T axis, left out), and the accuracy, the
    catalogue labels' agreement with the truth, and their Wilson intervals at each distance."""
    from .classes import boundary_distance, ttypes_to_labels
    from .evaluate import wilson_ci
    d = boundary_distance(true_ttype)
    y_catalogue, y_pred = np.asarray(y_catalogue), np.asarray(y_pred)
    right = y_pred == y_catalogue
    on_axis = np.isfinite(d)
    res = compare(d[on_axis & ~right], d[on_axis & right], alternative="less")
    res["hypothesis"] = ("distance of the true T-type from the nearest class boundary: misclassified < "
                         "correctly classified (one-sided Mann-Whitney U)")
    agree = ttypes_to_labels(true_ttype) == y_catalogue
    rows = []
    for dist in np.unique(d[on_axis]):
        sel = d == dist
        n = int(sel.sum())
        rows.append({"distance": float(dist), "n": n,
                     **{name: float(v[sel].mean()) for name, v in (("accuracy", right), ("label_agreement", agree))},
                     **{f"{name}_ci95": wilson_ci(int(v[sel].sum()), n) for name, v in (("accuracy", right),
                                                                                    ("label_agreement", agree))}})
    res["by_distance"] = rows
    return res


def mass_claim(meta: np.ndarray, y_true, y_pred, classes) -> dict | None:
    """The paper's claim, tested by itself (one pre-stated, one-sided hypothesis, so no correction):
    lenticulars called ellipticals are more massive than the lenticulars recovered."""
    if "log_mstar" not in meta.dtype.names or "S0" not in classes or "E" not in classes:
        return None
    s0, e = list(classes).index("S0"), list(classes).index("E")
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    wrong, right = (y_true == s0) & (y_pred == e), (y_true == s0) & (y_pred == s0)
    m = meta["log_mstar"].astype(float)
    if min(np.isfinite(m[wrong]).sum(), np.isfinite(m[right]).sum()) < 2:
        return None
    res = compare(m[wrong], m[right], alternative="greater")
    res["hypothesis"] = "log M* of S0 called E > log M* of S0 called S0 (one-sided Mann-Whitney U)"
    return res
