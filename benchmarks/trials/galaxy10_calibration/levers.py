"""What each calibration of the mock Galaxy10 bought, measured against the real galaxies in Galaxy10
geometry: the recipe changed one lever at a time (cumulative), each row measured as
``python -m helpers.galaxy10_realism`` measures the mock (pixel statistics with KS distances, the
discriminator's AUC at seed 0, the transfer at seeds 0 and 1).

    python benchmarks/trials/galaxy10_calibration/levers.py --sample ../shared/reference/real_galaxy10_sample

Each row renders its own 600-galaxy statistics sample and 2000-galaxy quick mock in this process (the
levers are module attributes, patched here); 30-60 min a row on two busy cores. Writes levers.json
beside this file. Row "version 1" is the recipe of commit a607ecf (read from git); the last row, the
final recipe, is also what ``make realism-galaxy10`` measures (results/realism_galaxy10.json).
"""
import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from helpers import galaxy10, galaxy10_realism as gr, mock, realism

HERE = Path(__file__).parent
FINAL = {"STRETCH": galaxy10.STRETCH, "GZ2": galaxy10.GZ2, "SKY_SMOOTH_PX": galaxy10.SKY_SMOOTH_PX,
         "CHROMA_BLUR_PX": galaxy10.CHROMA_BLUR_PX}
GBAND = realism.Stretch(jpeg_grid=galaxy10.GZ2_GRID)   # the g-band chain's defaults: sky 3, soften 3, frame JPEG 50
UNRESOLVED = replace(galaxy10.GZ2, spiral_min_r90_fwhm=0.0)
LEVERS = {
    "version 1": ("the recipe before: Nair & Abraham's galaxies, R90 = (2.3 + 0.7 B/T) r50, rendered at the "
                  "Galaxy10 pixel, Lupton RGB with weights (1, 1.45, 2.5)", None),
    "GZ2's view": ("GZ2's galaxies (g < 17.7, z < 0.25), framed at 4.14 Petrosian R90, rendered at 0.396\"/px "
                   "through the g-band chain's SDSS JPEG (sky 3, soften 3, colour_zero 0.35, frame JPEG 50)",
                   dict(STRETCH=GBAND, GZ2=UNRESOLVED, SKY_SMOOTH_PX=0.0, CHROMA_BLUR_PX=0.0)),
    "+ sky and colour": ("bands smoothed 0.7 px before the stretch, no frame JPEG, colour blurred 3 px, sky and "
                         "soften calibrated (the sky's level, noise, correlation and speckle), colour_zero "
                         "0.35 -> 0.5 (the centres' colour)", dict(FINAL, GZ2=UNRESOLVED)),
    "+ resolved spirals": ("spirals only where R90 >= 5 seeing FWHM (as volunteers who saw arms): the final recipe",
                           dict(FINAL)),
}


def version1():
    """helpers/galaxy10.py of commit a607ecf as a module of the helpers package."""
    text = subprocess.run(["git", "show", "a607ecf:helpers/galaxy10.py"], capture_output=True, text=True,
                          check=True, cwd=HERE).stdout
    path = Path(tempfile.mkdtemp()) / "galaxy10_v1.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("helpers.galaxy10_v1", path)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "helpers"
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--sample", type=Path, required=True)
    ap.add_argument("--levers", default=",".join(LEVERS))
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--real-stats", type=Path, default=None,
                    help="a pickle of (gr.pixel_stats of the real sample, spiral) made before: saves 20 min")
    args = ap.parse_args(argv)
    real, spiral = gr.read_sample(args.sample)
    if args.real_stats:
        import pickle
        real_t, saved = pickle.loads(args.real_stats.read_bytes())
        assert np.array_equal(saved, spiral) and len(real_t) == len(real)
    else:
        real_t = gr.pixel_stats(real, 1, progress=False)
    prof = galaxy10.profile("quick")
    out_path = HERE / "levers.json"
    rows = json.loads(out_path.read_text()) if out_path.exists() else {}
    original_mock_galaxy = galaxy10.mock_galaxy
    for name in args.levers.split(","):
        t0 = time.perf_counter()
        about, patch = LEVERS[name]
        galaxy10.mock_galaxy = version1().mock_galaxy if patch is None else original_mock_galaxy
        for key, value in (patch or FINAL).items():
            setattr(galaxy10, key, value)
        g10 = gr.weak_labels_mock(int(spiral.sum()))
        images, _ = galaxy10.render(gr.STATS_SEED, g10, workers=1, progress=False)
        weak = gr.weak_label(g10)
        mock_t = gr.pixel_stats(images, 1, progress=False)
        ks = {k: d for k, (d, _) in gr.ks_table(real_t, spiral, mock_t, weak).items()}
        medians = gr.medians(mock_t, weak, "mock")
        disc, _ = gr.discriminate(real, spiral, images, weak, prof, 0)
        labels = galaxy10.mock_labels(prof.n_galaxies, galaxy10.MOCK_SEED)
        quick, _ = galaxy10.render(galaxy10.MOCK_SEED, labels, workers=1, progress=False)
        mock_set = (quick, labels, galaxy10.split(labels, galaxy10.MOCK_SEED))
        transfer = [gr.transfer(real, spiral, prof, int(s), mock_set) for s in args.seeds.split(",")]
        rows[name] = {"about": about, "ks": ks, "median": medians, "auc": disc["auc"], "auc_ci95": disc["ci95"],
                      "auc_fold_sd": disc["fold_sd"], "auc_weak": {w: v["auc"] for w, v in disc["weak_classes"].items()},
                      "transfer": [t["balanced_accuracy"] for t in transfer], "transfer_ci95": [t["ci95"] for t in transfer],
                      "spiral_recall": [t["per_class"]["spiral"]["recall"] for t in transfer],
                      "other_recall": [t["per_class"]["not spiral"]["recall"] for t in transfer],
                      "mock_test_balanced_accuracy": [t["mock_test_balanced_accuracy"] for t in transfer],
                      "seconds": round(time.perf_counter() - t0)}
        out_path.write_text(json.dumps(rows, indent=1) + "\n")
        print(f"{name}: AUC {disc['auc']:.3f}, transfer {np.mean(rows[name]['transfer']):.3f} "
              f"({', '.join(f'{v:.3f}' for v in rows[name]['transfer'])}), "
              f"{rows[name]['seconds']} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
