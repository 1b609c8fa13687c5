"""Trial: model the GZ1 cutouts' correlated sky noise by a Gaussian smoothing of the linear frame before
the stretch, instead of the frame JPEG of main's :class:`helpers.realism.Stretch`; measure both against
the real sample (sky, median radial profile, statmorph KS distances). Not kept: README.md beside it.

    python benchmarks/trials/sky_model/sky_model.py --sample ../shared/reference/real_sdss_sample

About 20 min on two cores (statmorph on 340 real and 4 x 600 mock galaxies). Writes sky_model.json here.
The generator is the one ``helpers`` is imported from: PYTHONPATH=<a worktree> measures another.
"""
import argparse
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from helpers import data, mock, realism as R


@dataclass(frozen=True)
class SmoothedStretch(R.Stretch):
    """main's stretch without the frame JPEG by default; each band smoothed by a Gaussian of ``blur`` px
    (frame pixels, sigma) before the stretch, so that the sky is clipped after it is correlated."""
    frame_jpeg: int | None = None
    blur: float = 0.6

    def composite(self, stamp, g_minus_i=None):
        bands = stamp if stamp.ndim == 3 else stamp[None]
        smooth = np.stack([gaussian_filter(b, self.blur) for b in bands])
        return super().composite(smooth if stamp.ndim == 3 else smooth[0], g_minus_i)


def calibrate(stretch, lin, col, sky, noise, iterations=15):
    """``sky`` and ``soften`` that bring the median sky level and noise of every 6th stamp to the
    targets: calibrate_stretch's fixed-point iteration, for any Stretch class."""
    idx = range(0, len(lin), 6)
    sample, colours = [lin[i] for i in idx], col[list(idx)]
    best, best_err = stretch, np.inf
    for _ in range(iterations):
        st = R.sky_stats(stretch(sample, colours)).median()
        err = abs(st["sky"] - sky) / noise + abs(st["noise"] / noise - 1)
        if err < best_err:
            best, best_err = stretch, err
        stretch = replace(stretch, sky=float(stretch.sky + 0.9 * (sky - st["sky"])),
                          soften=float(stretch.soften * (st["noise"] / noise) ** 0.9))
    return best


def sky_shape(images) -> dict:
    """Median sky level, noise, level / noise, share of border pixels at 0, noise ACF at 1-3 px."""
    border = data.border_pixels(images, R.BORDER)
    st = R.sky_stats(images).join(R.noise_acf(images))
    return {"sky": float(st["sky"].median()), "noise": float(st["noise"].median()),
            "sky_over_noise": float((st["sky"] / st["noise"]).median()),
            "zero_share": float(np.median((border < 0.5).mean(axis=1))),
            **{f"acf{k}": float(st[f"acf{k}"].median()) for k in (1, 2, 3)}}


def describe(images, groups) -> dict:
    return {"sky": sky_shape(images),
            "profile_15_20px": {g: float(R.radial_profile(images[groups == g])[4]) for g in R.SIM_CLASSES}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=Path, required=True)
    ap.add_argument("--n-stats", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--variants", default="main:0.4,smoothing:0.4:0.6,smoothing:0.5:0.6,smoothing:1.0:0.6",
                    help="comma-separated main:NOISE_SCALE or smoothing:NOISE_SCALE:BLUR_PX")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("sky_model.json"))
    args = ap.parse_args()
    real = R.read_sample(args.sample, R.CROP)
    real_table = R.measure_all(real.images, real.groups, args.workers, progress=False)
    real_sky = R.sky_stats(real.images).median()
    out = {"helpers": str(Path(mock.__file__).parent), "real": describe(real.images, real.groups)}
    field_r90 = R.GZ1_R90_PER_PX * R.CROP
    for variant in args.variants.split(","):
        model, noise_scale, *blur = variant.split(":")
        noise_scale, blur = float(noise_scale), (float(blur[0]) if model == "smoothing" else None)
        name = "main: frame JPEG 50" if blur is None else f"smoothing {blur} px"
        lin, groups, _, col = R.mock_groups(args.n_stats, workers=args.workers, field_r90=field_r90,
                                            selection=mock.GZ1, noise_scale=noise_scale)
        if blur is None:
            stretch = R.calibrate_stretch(lin, real_sky["sky"], real_sky["noise"], jpeg_grid=R.CROP)
        else:
            stretch = calibrate(SmoothedStretch(sky=-2.0, soften=2.6, jpeg_grid=R.CROP, blur=blur), lin, col,
                                real_sky["sky"], real_sky["noise"])
        images = stretch(lin, col)
        table = R.measure_all(images, groups, args.workers, progress=False)
        key = f"{name}, noise scale {noise_scale}"
        ks = R.ks_distances(real_table, table, R.SHAPE_STATISTICS)
        out[key] = {"stretch": asdict(stretch)} | describe(images, groups) | {
            "ks": ks, "below_target": int(sum(d < R.KS_TARGET for d in ks.values())), "of": len(ks)}
        print(key, json.dumps({k: v for k, v in out[key].items() if k != "stretch"}, indent=None), flush=True)
    args.out.write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
