"""The mock Galaxy10 against real galaxies in Galaxy10 SDSS geometry: pixel statistics, transfer, ceiling.

The real reference is one HDF5 file, ``galaxy10_real_sample.h5`` (``images`` uint8 (N, 69, 69, 3), RGB =
i, r, g; ``spiral`` 1 where Galaxy Zoo 2's volunteers saw arms, 0 where not: a weak label), kept outside
the repository; ``python -m helpers.galaxy10_realism --sample PATH`` (``make realism-galaxy10``) says so
and stops cleanly when it is absent. The mock's weak label: Galaxy10 classes 7-9 (face-on spirals) are
spirals, 0-6 are not; a mock sample holds as many of each as the real one, each side in Galaxy10's
proportions.

1. **Pixel statistics** (:func:`pixel_stats`), the same on both sides, per weak class with KS distances:
   the galaxy's size in the frame and concentration (statmorph on the mean of the three channels, as
   ``realism.measure`` measures the g-band stamps), its colour at the centre and in the outskirts
   (:func:`hue` of the sky-subtracted light), the sky's level, noise, correlation (``realism.noise_acf``)
   and colour speckle (the scatter of R - B among the border pixels).
2. **Transfer beside its ceiling** (:func:`transfer`, :func:`ceiling`): C2 trained on the mock Galaxy10
   (``better-3way``, class weights) tested on the real galaxies, Sp against the rest; and the same
   engine trained on the real galaxies themselves in k folds (every galaxy tested once), weak labels.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from . import data, galaxy10, realism
from .classes import galaxy10_classes, galaxy10_relabel, stratified_counts

SAMPLE_FILE = "galaxy10_real_sample.h5"
WEAK = ("not spiral", "spiral")
SPIRAL_CLASSES = (7, 8, 9)
BORDER = 6            # px of each edge of the 69 px frame where the sky is measured
STATISTICS = ("size", "concentration", "asymmetry", "smoothness", "centre_hue", "outer_hue",
              "sky", "noise", "acf1", "speckle", "peak")
LABELS = {"size": "r50 / frame", "concentration": "concentration", "asymmetry": "asymmetry",
          "smoothness": "smoothness", "centre_hue": "centre colour\n(R-B)/(R+G+B)",
          "outer_hue": "outskirts colour\n(R-B)/(R+G+B)", "sky": "sky level\n(of 255)", "noise": "sky noise\n(of 255)",
          "acf1": "sky noise\nACF at 1 px", "speckle": "sky R-B scatter\n(of 255)",
          "peak": "peak above sky\n(sky sigmas)"}
STATS_SEED = 7        # seed of the mock galaxies measured against the real ones
MAPPING = "better-3way"
PARTS = ("statistics", "discriminator", "transfer", "ceiling")


# ----------------------------------------------------------------------------- the samples

def read_sample(path) -> tuple[np.ndarray, np.ndarray]:
    """The real sample: (images uint8 (N, 69, 69, 3), spiral 0/1). ``path``: the folder or the file."""
    path = Path(path)
    file = path / SAMPLE_FILE if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"{file}: no real Galaxy10-geometry sample there")
    with h5py.File(file, "r") as f:
        missing = {"images", "spiral"} - set(f)
        if missing:
            raise ValueError(f"{file}: missing datasets {sorted(missing)} (keys: {list(f)})")
        images, spiral = f["images"][:], f["spiral"][:].astype(np.int64)
    if images.shape[1:] != galaxy10.SHAPE or images.dtype != np.uint8 or len(spiral) != len(images):
        raise ValueError(f"{file}: images {images.shape} {images.dtype} for {len(spiral)} labels; "
                         f"expected uint8 (N, 69, 69, 3) and one label each")
    return images, spiral


def weak_label(g10) -> np.ndarray:
    """1 for Galaxy10's face-on spirals (classes 7-9), 0 for the rest."""
    return np.isin(np.asarray(g10), SPIRAL_CLASSES).astype(np.int64)


def weak_labels_mock(n_per_class: int, seed: int = STATS_SEED) -> np.ndarray:
    """Galaxy10 classes of a mock sample: ``n_per_class`` spirals (7-9) and as many others (0-6),
    each side in Galaxy10's proportions, shuffled."""
    labels = []
    for classes in (range(7), SPIRAL_CLASSES):
        counts = stratified_counts(n_per_class, {str(k): galaxy10.DOC_COUNTS[k] for k in classes})
        labels += [np.full(c, int(k)) for k, c in counts.items()]
    return np.random.default_rng([seed, 3]).permutation(np.concatenate(labels))


# ----------------------------------------------------------------------------- pixel statistics

def hue(rgb: np.ndarray, mask: np.ndarray) -> float:
    """(R - B) / (R + G + B) of the light in ``mask`` of a sky-subtracted (n, n, 3) image: 0 grey,
    above 0 red (the i band over g), below blue; NaN where the region holds no light."""
    s = rgb[mask].sum(axis=0)
    return float((s[0] - s[2]) / s.sum()) if s.sum() > 0 else np.nan


def _clipped_std(x: np.ndarray) -> float:
    """The 3-sigma-clipped standard deviation: a sky scatter that a star in the border barely moves."""
    from astropy.stats import sigma_clipped_stats
    return float(sigma_clipped_stats(x, sigma=3.0, maxiters=5)[2])


def pixel_stats_one(image: np.ndarray) -> dict:
    """The statistics of one (69, 69, 3) uint8 image (see the module docstring)."""
    rgb = np.asarray(image, dtype=np.float64)
    lum = rgb.mean(axis=-1)
    m = realism.measure(lum)
    sky_rgb = np.median(data.border_pixels(rgb.transpose(2, 0, 1), BORDER), axis=1)
    x = rgb - sky_rgb
    n = lum.shape[0]
    yy, xx = np.mgrid[:n, :n]
    r = np.hypot(yy - (n - 1) / 2, xx - (n - 1) / 2)
    r50 = m["size"] * n
    centre = r < max(1.5, 0.5 * r50) if np.isfinite(r50) else np.zeros_like(r, bool)
    outer = (r >= r50) & (r < 2 * r50) if np.isfinite(r50) else centre
    st = realism.sky_stats(lum[None], BORDER).iloc[0]
    chroma = data.border_pixels((rgb[..., 0] - rgb[..., 2])[None], BORDER)[0]
    return {"size": m["size"], "concentration": m["concentration"], "asymmetry": m["asymmetry"],
            "smoothness": m["smoothness"], "centre_hue": hue(x, centre), "outer_hue": hue(x, outer),
            "sky": float(st["sky"]), "noise": float(st["noise"]),
            "acf1": float(realism.noise_acf(lum[None], BORDER, lags=(1,))["acf1"].iloc[0]),
            "speckle": _clipped_std(chroma), "peak": float(st["peak"]), "flag": m["flag"]}


def _stats_many(images):
    return [pixel_stats_one(im) for im in images]


def pixel_stats(images: np.ndarray, workers: int = 1, progress: bool = True) -> pd.DataFrame:
    """:func:`pixel_stats_one` of every image (in ``workers`` processes), one row each. statmorph's
    statistics (size, concentration, asymmetry, smoothness, and the hues, which lean on the size) are
    NaN where statmorph failed or flagged the galaxy 2 or worse."""
    from tqdm.auto import tqdm
    chunks = [images[i:i + 16] for i in range(0, len(images), 16)]
    rows = []
    with realism._pool(workers) as pool:
        for part in tqdm(pool.map(_stats_many, chunks), total=len(chunks), desc="pixel statistics",
                         disable=not progress, unit="chunk"):
            rows += part
    table = pd.DataFrame(rows, columns=[*STATISTICS, "flag"])
    bad = ~table["flag"].between(0, 1)
    table.loc[bad, ["size", "concentration", "asymmetry", "smoothness", "centre_hue", "outer_hue"]] = np.nan
    return table


def ks_table(real: pd.DataFrame, real_weak, mock_table: pd.DataFrame, mock_weak, statistics=STATISTICS) -> dict:
    """{"<weak class>/<statistic>": (KS distance, p)} from the finite values of each side (5 at least)."""
    out = {}
    for k, name in enumerate(WEAK):
        for s in statistics:
            a = real.loc[np.asarray(real_weak) == k, s].dropna().to_numpy()
            b = mock_table.loc[np.asarray(mock_weak) == k, s].dropna().to_numpy()
            if len(a) >= 5 and len(b) >= 5:
                r = ks_2samp(a, b)
                out[f"{name}/{s}"] = (float(r.statistic), float(r.pvalue))
    return out


def medians(table: pd.DataFrame, weak, side: str, statistics=STATISTICS) -> dict:
    return {f"{side}/{name}/{s}": float(table.loc[np.asarray(weak) == k, s].median())
            for k, name in enumerate(WEAK) for s in statistics}


# ----------------------------------------------------------------------------- transfer and ceiling

def transfer(real_images: np.ndarray, real_spiral: np.ndarray, prof, seed: int, mock_set=None,
             framework: str = "keras") -> dict:
    """C2 trained on the mock Galaxy10 (``mock_set``: images, Galaxy10 labels, split; default the cached
    mock of ``prof``), better-3way, class weights, and tested on the real galaxies: a spiral where it
    answers Sp. A results record with the balanced accuracy (spiral against the rest), its bootstrap
    95 % interval, the mock test balanced accuracy and what the network called the real galaxies of each
    weak class."""
    from . import evaluate
    images, g10, split_codes = mock_set if mock_set is not None else galaxy10.load("mock", prof)
    keep, y = galaxy10_relabel(g10, MAPPING)
    classes = galaxy10_classes(MAPPING)
    out = galaxy10.experiment(framework, "C2", galaxy10.channels(images[keep], "gri"), y, split_codes[keep],
                              len(classes), prof, "class-weights", seed,
                              extra=galaxy10.channels(real_images, "gri"))
    called = out["proba_extra"].argmax(1)
    pred = (called == classes.index("Sp")).astype(np.int64)
    h = out["history"]
    mock_test = evaluate.metrics(out["y_test"], out["pred"], classes)
    return evaluate.record(
        f"C2-{framework}", "transfer", "galaxy10-real-sample", prof, seed, real_spiral, pred, WEAK,
        n_train=out["n_train"], epochs=h.stopped_epoch, train_seconds=h.train_seconds, train_set="galaxy10-mock",
        mapping=MAPPING, rebalancing="class-weights", mock_version=galaxy10.MOCK_VERSION,
        ci95=list(evaluate.bootstrap_ci(real_spiral, pred, stat=realism.balanced_accuracy)),
        mock_test_balanced_accuracy=mock_test["balanced_accuracy"],
        called={name: {c: float(np.mean(called[real_spiral == k] == j)) for j, c in enumerate(classes)}
                for k, name in enumerate(WEAK)})


def mock_n_train(mock_set, prof) -> int:
    """How many training galaxies :func:`transfer` fits on (better-3way, the mock's training split)."""
    _, g10, split_codes = mock_set
    keep, _ = galaxy10_relabel(g10, MAPPING)
    return int(np.sum(split_codes[keep] == 0))


def _cross_validated(x: np.ndarray, y: np.ndarray, strata, prof, seed: int, k: int, framework: str):
    """Out-of-fold P(class 1) of ``k`` networks (``galaxy10.experiment``, two-way, class weights): the items
    are dealt into folds stratified by ``strata`` (``realism.stratified_folds``); each fold is scored by a
    network trained on the others, 15 % of them (stratified by label) held out for early stopping.
    Returns (scores, folds, histories, training set size)."""
    from sklearn.model_selection import train_test_split
    folds = realism.stratified_folds(strata, k, seed)
    histories, n_train = [], []

    def train_and_score(train_idx, test_idx):
        _, va = train_test_split(train_idx, test_size=realism.VAL_SHARE, stratify=y[train_idx], random_state=seed)
        codes = np.zeros(len(y), dtype=np.uint8)
        codes[va], codes[test_idx] = 1, 2
        out = galaxy10.experiment(framework, "C2", x, y, codes, 2, prof, "class-weights", seed)
        histories.append(out["history"])
        n_train.append(out["n_train"])
        return out["proba"][:, 1]
    return realism.cross_score(train_and_score, folds), folds, histories, int(np.mean(n_train))


def ceiling(real_images: np.ndarray, real_spiral: np.ndarray, prof, seed: int, k: int = 5,
            framework: str = "keras", n_train_like: int | None = None) -> dict:
    """The same engine trained on the real galaxies, spiral against the rest (weak labels), in ``k``
    folds, so that every galaxy is tested once by a network that never saw it. With ``n_train_like``
    (the mock-trained network's training set size) its epochs and patience are scaled so that it gets
    the same budget of optimiser steps as the network it is the ceiling of. A record over all the
    galaxies, with the bootstrap interval and each fold's balanced accuracy."""
    from . import evaluate
    n_fit = realism._n_fit(len(real_spiral) - int(np.ceil(len(real_spiral) / k)))
    ratio = n_train_like / n_fit if n_train_like else 1.0
    prof = replace(prof, max_epochs=max(1, round(prof.max_epochs * ratio)),
                   patience=max(1, round(prof.patience * ratio)))
    scores, folds, hist, n_train = _cross_validated(galaxy10.channels(real_images, "gri"), real_spiral, real_spiral,
                                                    prof, seed, k, framework)
    pred = (scores > 0.5).astype(np.int64)
    return evaluate.record(
        f"C2-{framework}", "ceiling", "galaxy10-real-sample", prof.name, seed, real_spiral, pred, WEAK,
        n_train=n_train, epochs=round(np.mean([h.stopped_epoch for h in hist])),
        train_seconds=sum(h.train_seconds for h in hist), train_set="galaxy10-real-sample", folds=k,
        max_epochs=prof.max_epochs, patience=prof.patience,
        ci95=list(evaluate.bootstrap_ci(real_spiral, pred, stat=realism.balanced_accuracy)),
        fold_balanced_accuracy=[realism.balanced_accuracy(real_spiral[folds == f], pred[folds == f]) for f in range(k)],
        auc=realism.auc(real_spiral, scores))


def discriminate(real_images: np.ndarray, real_spiral: np.ndarray, mock_images: np.ndarray, mock_spiral: np.ndarray,
                 prof, seed: int, k: int = 5, framework: str = "keras") -> tuple[dict, dict]:
    """A classifier two-sample test: C2 learns to tell real images (0) from mock ones (1), in ``k`` folds
    stratified by side and weak class, so that every image is scored once by a network that never saw
    it. The AUC of these scores P(mock) is the verdict (0.5: the mock cannot be told from the real sky).
    Returns (record: AUC with its bootstrap interval and spread over folds, overall and per weak class;
    detail: the images, ``is_mock``, ``weak``, ``scores``, ``folds``)."""
    from . import evaluate
    images = np.concatenate([real_images, mock_images])
    is_mock = np.r_[np.zeros(len(real_images), np.int64), np.ones(len(mock_images), np.int64)]
    weak = np.r_[real_spiral, mock_spiral]
    scores, folds, hist, n_train = _cross_validated(galaxy10.channels(images, "gri"), is_mock, is_mock * 2 + weak,
                                                    prof, seed, k, framework)
    summary = realism.auc_summary(is_mock, scores, folds, seed=seed)
    per_class = {w: realism.auc_summary(is_mock[weak == c], scores[weak == c], folds[weak == c], seed=seed)
                 for c, w in enumerate(WEAK)}
    record = evaluate.record(
        f"C2-{framework}", "discriminator", "galaxy10-mock-vs-real", prof, seed, is_mock,
        (scores > 0.5).astype(np.int64), ("real", "mock"), n_train=n_train,
        epochs=round(np.mean([h.stopped_epoch for h in hist])), train_seconds=sum(h.train_seconds for h in hist),
        k=k, input_size=prof.input_size, mock_version=galaxy10.MOCK_VERSION,
        **{key: summary[key] for key in ("auc", "ci95", "folds", "fold_sd")},
        n_real=len(real_images), n_mock=len(mock_images), weak_classes=per_class)
    return record, {"images": images, "is_mock": is_mock, "weak": weak, "scores": scores, "folds": folds}


# ----------------------------------------------------------------------------- the verdict in words

def verdict(records) -> str:
    """Markdown sentences on how far the mock Galaxy10 is from the real galaxies, built from the records of
    ``results/realism_galaxy10.json`` (notebook 04 shows them; no number in them is typed by hand)."""
    by = lambda scheme: [r for r in records if r["scheme"] == scheme]
    stats, disc, trans, ceil = by("statistics"), by("discriminator"), by("transfer"), by("ceiling")
    if not (stats or disc or trans):
        return "The mock Galaxy10 has not been measured against real galaxies here (`make realism-galaxy10`)."
    version = (stats or disc or trans)[0].get("mock_version")
    n_real = sum(stats[0]["n_real"].values()) if stats else disc[0]["n_real"] if disc else trans[0]["n_test"]
    out = [f"Measured on mock Galaxy10 version {version} against {n_real} real galaxies in Galaxy10 geometry:"]
    if disc:
        d = disc[0]
        told = ("are not told from the real ones by it" if d["ci95"][0] <= 0.5 else
                "are hard for it to tell from the real ones" if d["auc"] < 0.7 else "are told from the real ones")
        per = "; ".join(f"{w} {v['auc']:.2f}" for w, v in d["weak_classes"].items())
        out.append(f"- **Discriminator.** C2 trained to tell real images from mock ones ({d['k']} folds, every image "
                   f"scored once by a network that never saw it) reaches AUC {d['auc']:.2f} (95 % interval "
                   f"{d['ci95'][0]:.2f}-{d['ci95'][1]:.2f}, sd over folds {d['fold_sd']:.2f}; {per}): at the "
                   f"resolution C2 sees ({d['input_size']} px), the mock's images {told} (0.5: indistinguishable).")
    if trans:
        ba = np.array([r["balanced_accuracy"] for r in trans])
        line = (f"- **Transfer.** C2 trained on the mock (better-3way, class weights, `{trans[0]['profile']}`) finds "
                f"the real spirals at a balanced accuracy of {100 * ba.mean():.1f} % (spiral against the rest; "
                f"{len(ba)} seeds, {100 * ba.min():.1f}-{100 * ba.max():.1f} %; one seed's 95 % interval about "
                f"+-{50 * np.mean([r['ci95'][1] - r['ci95'][0] for r in trans]):.0f} points)")
        if ceil:
            cb = np.array([r["balanced_accuracy"] for r in ceil])
            gap = 100 * (ba.mean() - cb.mean())
            line += (f"; the same engine trained on the real galaxies themselves ({ceil[0]['folds']} folds, "
                     f"{ceil[0]['n_train']} training galaxies a fold) reaches {100 * cb.mean():.1f} % "
                     f"({100 * cb.min():.1f}-{100 * cb.max():.1f} %): the mock-trained network is "
                     f"{abs(gap):.1f} points {'above' if gap >= 0 else 'below'} that ceiling")
        out.append(line + ".")
    if stats and disc:
        key, d = max(stats[0]["ks"].items(), key=lambda kv: kv[1])
        if 0.5 + d / 2 > disc[0]["auc"]:   # a cut at the KS point separates the two at balanced accuracy 0.5 + D/2
            out.append(f"- **A weak discriminator.** One statistic alone does better: a cut on the "
                       f"{LABELS[key.split('/')[1]].replace(chr(10), ' ')} of the {key.split('/')[0]} galaxies "
                       f"separates mock from real at a balanced accuracy of {0.5 + d / 2:.2f} (0.5 + KS / 2), above "
                       f"the discriminator's AUC. The mock is not indistinguishable: this C2, at {disc[0]['input_size']}"
                       f" px and `{disc[0].get('profile', '?')}`, does not learn what gives it away.")
    if stats:
        st = stats[0]
        worst = sorted(st["ks"].items(), key=lambda kv: -kv[1])[:3]
        med = st["median"]
        items = [f"{LABELS[k.split('/')[1]].replace(chr(10), ' ')} of the {k.split('/')[0]} galaxies (KS {d:.2f}; median real "
                 f"{med['real/' + k]:.3g}, mock {med['mock/' + k]:.3g})" for k, d in worst]
        out.append(f"- **Pixel statistics.** The largest differences: {'; '.join(items)}.")
    if trans:
        out.append("- **What it means here.** The numbers below are the mock's: its labels are exact, so they say how "
                   "well C2 separates the classes as the mock draws them, not how it does on Galaxy10's votes. "
                   "How the strategies, mappings and bands compare carries over to real images only as far as the "
                   "transfer above does.")
    return "\n".join(out)


# ----------------------------------------------------------------------------- the command line

def statistics_record(real, spiral, mock_images, mock_weak, workers: int = 1, figure: bool = True) -> dict:
    """The pixel statistics of both sides, their KS distances per weak class (printed) and the figure."""
    from . import plots
    real_t, mock_t = pixel_stats(real, workers), pixel_stats(mock_images, workers)
    tests = ks_table(real_t, spiral, mock_t, mock_weak)
    print(f"\n{'statistic':<16}" + "".join(f"{w + ': real, mock, KS':>34}" for w in WEAK))
    for s in STATISTICS:
        cells = ""
        for k, w in enumerate(WEAK):
            a, b = real_t.loc[spiral == k, s].median(), mock_t.loc[mock_weak == k, s].median()
            cells += f"{a:>14.3f}{b:>10.3f}{tests.get(f'{w}/{s}', (np.nan,))[0]:>10.3f}"
        print(f"{s:<16}{cells}")
    if figure:
        names = np.array(WEAK)
        fig = plots.mock_vs_real(real, names[spiral], mock_images, names[mock_weak],
                                 real_t.assign(group=names[spiral]), mock_t.assign(group=names[mock_weak]), tests, WEAK,
                                 STATISTICS, labels=LABELS, target=None,
                                 titles=("real (Galaxy Zoo 2 JPEGs in Galaxy10 geometry)",
                                         f"mock Galaxy10 (version {galaxy10.MOCK_VERSION})"),
                                 suptitle="Real (left) and mock (right) galaxies per weak class, 69x69 px, "
                                          "i r g as R G B")
        print(f"figure: {plots.save(fig, 'galaxy10_mock_vs_real')}")
    return {"model": "pixel-statistics", "scheme": "statistics", "dataset": "galaxy10-mock-vs-real",
            "profile": "-", "seed": STATS_SEED, "mock_version": galaxy10.MOCK_VERSION,
            "n_real": {w: int(np.sum(spiral == k)) for k, w in enumerate(WEAK)},
            "n_mock": {w: int(np.sum(mock_weak == k)) for k, w in enumerate(WEAK)},
            "ks": {k: d for k, (d, _) in tests.items()}, "ks_pvalue": {k: p for k, (_, p) in tests.items()},
            "median": medians(real_t, spiral, "real") | medians(mock_t, mock_weak, "mock"),
            "statistics": list(STATISTICS)}


def _say(rec: dict) -> str:
    if rec["scheme"] == "discriminator":
        per = ", ".join(f"{w} {v['auc']:.3f}" for w, v in rec["weak_classes"].items())
        return (f"discriminator seed {rec['seed']}: AUC {rec['auc']:.3f} [{rec['ci95'][0]:.3f}, {rec['ci95'][1]:.3f}], "
                f"folds sd {rec['fold_sd']:.3f}; {per} ({rec['train_seconds']:.0f} s)")
    return (f"{rec['scheme']} seed {rec['seed']}: balanced accuracy {rec['balanced_accuracy']:.3f} "
            f"[{rec['ci95'][0]:.3f}, {rec['ci95'][1]:.3f}], spiral recall {rec['per_class']['spiral']['recall']:.2f}, "
            f"other {rec['per_class']['not spiral']['recall']:.2f} ({rec['train_seconds']:.0f} s)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="The mock Galaxy10 against real galaxies in Galaxy10 geometry: pixel "
                                             "statistics, a discriminator, transfer beside its ceiling (writes "
                                             "results/realism_galaxy10.json, figures/galaxy10_mock_vs_real.png)")
    ap.add_argument("--sample", type=Path, default=data.DATA_DIR / "real_galaxy10_sample",
                    help=f"folder with {SAMPLE_FILE} (a development reference, not part of the repository)")
    ap.add_argument("--profile", default="quick", help="training profile (helpers.galaxy10.PROFILES)")
    ap.add_argument("--seeds", default="0,1,2", help="training seeds of transfer and ceiling, comma-separated "
                                                     "(the discriminator runs at the first)")
    ap.add_argument("--folds", type=int, default=5, help="folds of the real sample (discriminator and ceiling)")
    ap.add_argument("--parts", default=",".join(PARTS),
                    help=f"what to measure, comma-separated, of {', '.join(PARTS)} (each part's records replace "
                         f"the stored ones of the same key; the others stay)")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--results-dir", type=Path, default=None,
                    help="where realism_galaxy10.json goes (default results/)")
    args = ap.parse_args(argv)
    parts = set(args.parts.split(","))
    if parts - set(PARTS):
        ap.error(f"unknown parts {sorted(parts - set(PARTS))}; choose from {', '.join(PARTS)}")
    file = args.sample / SAMPLE_FILE if args.sample.is_dir() or not args.sample.suffix else args.sample
    if not file.is_file():
        print(f"No real Galaxy10-geometry sample at {args.sample} ({SAMPLE_FILE} expected): nothing to compare the "
              f"mock Galaxy10 with. It is a development reference kept outside the repository; pass --sample PATH "
              f"(make realism-galaxy10 G10_SAMPLE=PATH).")
        return 0
    import os

    from . import evaluate
    workers = args.workers or os.cpu_count() or 1
    t0 = time.perf_counter()
    real, spiral = read_sample(file)
    print(f"real sample: {len(real)} galaxies ({int(spiral.sum())} spirals); mock Galaxy10 version "
          f"{galaxy10.MOCK_VERSION}")
    if parts & {"statistics", "discriminator"}:   # as many mock galaxies of each weak class as real ones
        g10 = weak_labels_mock(max(int(spiral.sum()), 1))
        mock_images, _ = galaxy10.render(STATS_SEED, g10, workers, progress=False)
        mock_weak = weak_label(g10)
    records = []
    save = lambda: evaluate.write_results("realism_galaxy10", records, args.results_dir)
    if "statistics" in parts:
        records.append(statistics_record(real, spiral, mock_images, mock_weak, workers))
        save()
    prof = galaxy10.profile(args.profile)
    seeds = [int(s) for s in args.seeds.split(",")]
    if "discriminator" in parts:
        records.append(discriminate(real, spiral, mock_images, mock_weak, prof, seeds[0], args.folds)[0])
        print(_say(records[-1]), flush=True)
        save()
    mock_set = galaxy10.load("mock", prof) if parts & {"transfer", "ceiling"} else None
    for seed in seeds if mock_set else ():
        n_train = None
        if "transfer" in parts:
            records.append(transfer(real, spiral, prof, seed, mock_set))
            n_train = records[-1]["n_train"]
            print(_say(records[-1]), flush=True)
        if "ceiling" in parts:
            n_train = n_train or mock_n_train(mock_set, prof)
            records.append(ceiling(real, spiral, prof, seed, args.folds, n_train_like=n_train))
            print(_say(records[-1]), flush=True)
        save()
    print(f"results: {save()} ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
