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
LABELS = {"size": "r50 / frame width", "concentration": "concentration C", "asymmetry": "asymmetry A",
          "smoothness": "smoothness S", "centre_hue": "centre (R-B)/(R+G+B)", "outer_hue": "outskirts (R-B)/(R+G+B)",
          "sky": "sky level (of 255)", "noise": "sky noise (of 255)", "acf1": "sky noise ACF at 1 px",
          "speckle": "sky R-B scatter (of 255)", "peak": "peak above sky (sky sigmas)"}
STATS_SEED = 7        # seed of the mock galaxies measured against the real ones
MAPPING = "better-3way"


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

def transfer(real_images: np.ndarray, real_spiral: np.ndarray, prof, seed: int, framework: str = "keras",
             mock_seed: int = galaxy10.MOCK_SEED) -> dict:
    """C2 trained on the mock Galaxy10 of ``prof`` (better-3way, class weights; its own split) and
    tested on the real galaxies: a spiral where it answers Sp. A results record with the balanced
    accuracy (spiral against the rest), its bootstrap 95 % interval, the mock test balanced accuracy
    and what the network called the real galaxies of each weak class."""
    from . import evaluate
    images, g10, split_codes = galaxy10.load("mock", prof, seed=mock_seed)
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


def fold_codes(labels, k: int, seed: int) -> np.ndarray:
    """Fold 0..k-1 of each galaxy, stratified by label (seeded)."""
    from sklearn.model_selection import StratifiedKFold
    folds = np.empty(len(labels), dtype=np.int64)
    for f, (_, test) in enumerate(StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(labels)), labels)):
        folds[test] = f
    return folds


def ceiling(real_images: np.ndarray, real_spiral: np.ndarray, prof, seed: int, k: int = 5,
            framework: str = "keras") -> dict:
    """The same engine trained on the real galaxies, spiral against the rest (weak labels), in ``k``
    folds: each fold tested by a network trained on the others (15 % of them held out for early
    stopping), so that every galaxy is tested once. A record over all the galaxies, with the bootstrap
    interval and the spread over folds."""
    from sklearn.model_selection import train_test_split

    from . import evaluate
    x = galaxy10.channels(real_images, "gri")
    folds = fold_codes(real_spiral, k, seed)
    pred = np.empty(len(real_spiral), dtype=np.int64)
    per_fold, epochs, seconds, n_train = [], 0, 0.0, 0
    for f in range(k):
        rest = np.nonzero(folds != f)[0]
        _, va = train_test_split(rest, test_size=0.15, stratify=real_spiral[rest], random_state=seed)
        codes = np.zeros(len(real_spiral), dtype=np.uint8)
        codes[va], codes[folds == f] = 1, 2
        out = galaxy10.experiment(framework, "C2", x, real_spiral, codes, 2, prof, "class-weights", seed)
        pred[folds == f] = out["pred"]
        per_fold.append(realism.balanced_accuracy(out["y_test"], out["pred"]))
        epochs += out["history"].stopped_epoch
        seconds += out["history"].train_seconds
        n_train = out["n_train"]
    return evaluate.record(
        f"C2-{framework}", "ceiling", "galaxy10-real-sample", prof, seed, real_spiral, pred, WEAK,
        n_train=n_train, epochs=round(epochs / k), train_seconds=seconds, train_set="galaxy10-real-sample",
        folds=k, ci95=list(evaluate.bootstrap_ci(real_spiral, pred, stat=realism.balanced_accuracy)),
        fold_balanced_accuracy=per_fold)


# ----------------------------------------------------------------------------- the command line

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="The mock Galaxy10 against real galaxies in Galaxy10 geometry "
                                             "(writes results/realism_galaxy10.json, figures/galaxy10_mock_vs_real.png)")
    ap.add_argument("--sample", type=Path, default=data.DATA_DIR / "real_galaxy10_sample",
                    help=f"folder with {SAMPLE_FILE} (a development reference, not part of the repository)")
    ap.add_argument("--profile", default="quick", help="training profile (helpers.galaxy10.PROFILES)")
    ap.add_argument("--seeds", default="0,1,2", help="training seeds, comma-separated")
    ap.add_argument("--folds", type=int, default=5, help="folds of the real sample (ceiling)")
    ap.add_argument("--skip-training", action="store_true", help="statistics and figure only")
    ap.add_argument("--skip-statistics", action="store_true", help="transfer and ceiling only")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--results-dir", type=Path, default=None, help="where realism_galaxy10.json goes (default results/)")
    args = ap.parse_args(argv)
    file = args.sample / SAMPLE_FILE if args.sample.is_dir() or not args.sample.suffix else args.sample
    if not file.is_file():
        print(f"No real Galaxy10-geometry sample at {args.sample} ({SAMPLE_FILE} expected): nothing to compare the "
              f"mock Galaxy10 with. It is a development reference kept outside the repository; pass --sample PATH "
              f"(make realism-galaxy10 G10_SAMPLE=PATH).")
        return 0
    import os

    from . import evaluate, plots
    workers = args.workers or os.cpu_count() or 1
    t0 = time.perf_counter()
    real, spiral = read_sample(file)
    print(f"real sample: {len(real)} galaxies ({int(spiral.sum())} spirals)")
    records = []
    if not args.skip_statistics:
        g10 = weak_labels_mock(int(spiral.sum()) if spiral.sum() else 1)
        mock_images, _ = galaxy10.render(STATS_SEED, g10, workers, progress=False)
        mock_weak = weak_label(g10)
        real_t, mock_t = pixel_stats(real, workers), pixel_stats(mock_images, workers)
        tests = ks_table(real_t, spiral, mock_t, mock_weak)
        print(f"\n{'statistic':<16}" + "".join(f"{w + ': real, mock, KS':>34}" for w in WEAK))
        for s in STATISTICS:
            cells = ""
            for k, w in enumerate(WEAK):
                a = real_t.loc[spiral == k, s].median()
                b = mock_t.loc[mock_weak == k, s].median()
                d = tests.get(f"{w}/{s}", (np.nan,))[0]
                cells += f"{a:>14.3f}{b:>10.3f}{d:>10.3f}"
            print(f"{s:<16}{cells}")
        fig = plots.mock_vs_real(real, np.array(WEAK)[spiral], mock_images, np.array(WEAK)[mock_weak],
                                 real_t.assign(group=np.array(WEAK)[spiral]),
                                 mock_t.assign(group=np.array(WEAK)[mock_weak]), tests, WEAK, STATISTICS,
                                 labels=LABELS, target=None,
                                 titles=("real (Galaxy Zoo 2 JPEGs in Galaxy10 geometry)", "mock Galaxy10"),
                                 suptitle="Real (left) and mock (right) galaxies per weak class, 69x69 px, i r g as R G B")
        print(f"figure: {plots.save(fig, 'galaxy10_mock_vs_real')}")
        records.append({"model": "pixel-statistics", "scheme": "statistics", "dataset": "galaxy10-mock-vs-real",
                        "profile": "-", "seed": STATS_SEED, "mock_version": galaxy10.MOCK_VERSION,
                        "n_real": {w: int(np.sum(spiral == k)) for k, w in enumerate(WEAK)},
                        "n_mock": {w: int(np.sum(mock_weak == k)) for k, w in enumerate(WEAK)},
                        "ks": {k: d for k, (d, _) in tests.items()}, "ks_pvalue": {k: p for k, (_, p) in tests.items()},
                        "median": medians(real_t, spiral, "real") | medians(mock_t, mock_weak, "mock"),
                        "statistics": list(STATISTICS)})
        evaluate.write_results("realism_galaxy10", records, args.results_dir)
    if not args.skip_training:
        prof = galaxy10.profile(args.profile)
        for seed in (int(s) for s in args.seeds.split(",")):
            for rec in (transfer(real, spiral, prof, seed), ceiling(real, spiral, prof, seed, args.folds)):
                records.append(rec)
                print(f"  {rec['scheme']:<9} seed {seed}: balanced accuracy {rec['balanced_accuracy']:.3f} "
                      f"[{rec['ci95'][0]:.3f}, {rec['ci95'][1]:.3f}], spiral recall "
                      f"{rec['per_class']['spiral']['recall']:.2f}, other {rec['per_class']['not spiral']['recall']:.2f} "
                      f"({rec['train_seconds']:.0f} s)", flush=True)
                evaluate.write_results("realism_galaxy10", records, args.results_dir)
    print(f"results: {evaluate.write_results('realism_galaxy10', records, args.results_dir)} "
          f"({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
