"""Levers on sim-to-real, each against its sampling error (issue 26): the number of mock galaxies, and
batch-norm statistics from unlabelled real stamps, beside the real-trained ceiling on the same 1,000 real
galaxies. C2 E|S0 vs Sp, `quick`, seeds 0-2, the GZ1 selection, framing and depth of `make realism`.

    TORCH_NUM_THREADS=1 python benchmarks/trials/sim_to_real_levers/levers.py --sample PATH [--sizes 823,1600,4000,10000]

Writes levers.json (records as make realism's, with their per-galaxy predictions) beside this file and
prints each lever's paired difference from the ceiling and from the 1,600-galaxy mock.
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np

from helpers import evaluate, mock, realism

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--sample", type=Path, required=True)
    ap.add_argument("--sizes", default="823,1600,4000,10000")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("levers.json"))
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    t0 = time.perf_counter()
    real = realism.read_sample(args.sample)
    field_r90 = realism.GZ1_R90_PER_PX * realism.CROP
    lin, _, _, _ = realism.mock_groups(200, workers=1, field_r90=field_r90, selection=mock.GZ1,
                                       noise_scale=realism.NOISE_SCALE)
    sky = realism.sky_stats(real.images)
    stretch = realism.calibrate_stretch(lin, sky["sky"].median(), sky["noise"].median(), jpeg_grid=realism.CROP)
    print(f"stretch {stretch} ({time.perf_counter() - t0:.0f} s)", flush=True)
    _, y = realism.real_disks(real)
    records = {}

    def save():
        args.out.write_text(json.dumps([r for rs in records.values() for r in rs], indent=1) + "\n")

    records["real"] = [realism.real_trained(real, "quick", s, 5) for s in seeds]
    print(f"real-trained: {[round(r['balanced_accuracy'], 3) for r in records['real']]} "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)
    save()
    for n in [int(s) for s in args.sizes.split(",")]:
        runs = [realism.sim_to_real(real, stretch, mock.Realism(), n, "quick", s, progress=False, field_r90=field_r90,
                                    selection=mock.GZ1, noise_scale=realism.NOISE_SCALE, adapt_k=5) for s in seeds]
        records[f"mock {n}"], records[f"mock {n}+bn"] = [r[0] for r in runs], [r[1] for r in runs]
        for key in (f"mock {n}", f"mock {n}+bn"):
            for r in records[key]:
                r["lever"] = key
            gap = realism.paired_difference(y, [realism.predictions(r) for r in records[key]],
                                            [realism.predictions(r) for r in records["real"]])
            records[key][0]["vs_real_trained"] = gap
            each = ", ".join(f"{100 * r['balanced_accuracy']:.1f}" for r in records[key])
            line = (f"{key:<16} {100 * gap['a']:.1f} % (seeds {each};"
                    f" n_seen {records[key][0]['n_seen']}) - real {100 * gap['b']:.1f} % = {100 * gap['difference']:+.1f} "
                    f"[{100 * gap['ci95'][0]:+.1f}, {100 * gap['ci95'][1]:+.1f}]")
            if "mock 1600" in records and key != "mock 1600":
                d = realism.paired_difference(y, [realism.predictions(r) for r in records[key]],
                                              [realism.predictions(r) for r in records["mock 1600"]])
                records[key][0]["vs_mock_1600"] = d
                line += f"; vs mock 1600 {100 * d['difference']:+.1f} [{100 * d['ci95'][0]:+.1f}, {100 * d['ci95'][1]:+.1f}]"
            print(line + f" ({time.perf_counter() - t0:.0f} s)", flush=True)
        save()
