"""Trial: the discriminator on the sky-model trial's chain (each linear band smoothed 0.6 px
before the stretch, no frame JPEG; a607ecf:benchmarks/trials/sky_model) against main's, same mock galaxies.

    python benchmarks/trials/sky_model_discriminator/run.py 0,1   (seeds; about 1 min each on two cores)
"""
import json, sys, time
from dataclasses import replace, dataclass
import numpy as np
from scipy.ndimage import gaussian_filter
from helpers import data, mock, realism as R

@dataclass(frozen=True)
class SmoothedStretch(R.Stretch):
    frame_jpeg: int | None = None
    blur: float = 0.6
    def composite(self, stamp, g_minus_i=None):
        bands = stamp if stamp.ndim == 3 else stamp[None]
        smooth = np.stack([gaussian_filter(b, self.blur) for b in bands])
        return super().composite(smooth if stamp.ndim == 3 else smooth[0], g_minus_i)

def calibrate(stretch, lin, col, sky, noise, iterations=15):
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

if __name__ == "__main__":
    seeds = [int(s) for s in sys.argv[1].split(",")]
    real = R.read_sample(data.ROOT / "../shared/reference/real_sdss_sample", R.CROP)
    field_r90 = R.GZ1_R90_PER_PX * R.CROP
    counts = {g: int(np.sum(real.groups == g)) for g in R.GROUPS}
    lin, groups, _, colours = R.mock_groups(counts, R.DISCRIMINATOR_SEED, mock.Realism(), 2, field_r90, mock.GZ1, R.NOISE_SCALE)
    real_sky = R.sky_stats(real.images).median()
    stretch = calibrate(SmoothedStretch(jpeg_grid=R.CROP), lin, colours, real_sky["sky"], real_sky["noise"])
    stamps = stretch(lin, colours)
    st = R.sky_stats(stamps).median()
    print("stretch", stretch, "sky", st["sky"], "noise", st["noise"], "real", real_sky["sky"], real_sky["noise"], flush=True)
    stats = R.stamp_statistics(stamps); real_stats = R.stamp_statistics(real.images)
    out = []
    for seed in seeds:
        t = time.time()
        rec, det = R.discriminate(data.normalise(real.images), real.groups, data.normalise(stamps), groups, "mock, smoothed sky",
                                  "quick", seed, 5)
        import pandas as pd
        both = pd.concat([real_stats, stats], ignore_index=True)
        is_mock, grp = det["is_mock"], det["groups"]
        rec["statistic_auc"] = {g: {k: R.auc(is_mock[grp == g], both[k].to_numpy()[grp == g]) for k in both} for g in R.GROUPS}
        print(seed, rec["auc"], rec["ci95"], {g: round(s["auc"], 3) for g, s in rec["groups"].items()}, rec["statistic_auc"], f"{time.time()-t:.0f} s", flush=True)
        out.append({k: rec[k] for k in ("auc", "ci95", "groups", "statistic_auc", "seed")})
    json.dump(out, open(__file__.replace("run.py", "out.json"), "w"), indent=1, default=float)
