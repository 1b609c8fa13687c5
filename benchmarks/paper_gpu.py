"""The long profiles on a GPU machine: C2, 3-way and 4-way, several seeds side by side on one GPU.

    PROFILE=paper python benchmarks/paper_gpu.py --out OUT --max-minutes 6

1. builds (or loads) the 14034-galaxy mock set once, with every core;
2. starts one ``python -m helpers.experiment`` per (scheme, seed), all at once: C2 uses a fraction
   of a large GPU, so runs side by side finish sooner than one after another;
3. logs the GPU's utilisation with ``nvidia-smi`` meanwhile;
4. writes ``OUT/pytorch_<profile>.json`` (the records, to merge into ``results/pytorch.json``),
   ``OUT/pytorch_<profile>_histories.json`` (learning curves) and ``OUT/bench_<profile>_runs.json``
   (epoch times, training images/s, the wall clock end to end and GPU utilisation, in the
   ``results/bench.json`` schema).
   The profile is the environment's ``PROFILE`` (``full`` runs the same way, in seconds, on a GPU).

``--max-minutes`` bounds each training's wall clock (the paper's early stopping ends it sooner if it
can): a run cut by the budget says so in its record (``stop_reason``), with the best epoch's weights.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import record  # noqa: E402  (benchmarks/ is this script's folder, first on sys.path)
from helpers import data, prepare, train  # noqa: E402


def together(n: int) -> str:
    """How the runs shared the GPU, in the records' names: a run alone and runs side by side are different figures."""
    return "one run alone" if n == 1 else f"{n} runs side by side"


def gpu_log(path: Path):
    """nvidia-smi sampling utilisation (%) and memory (MiB) twice a second, or None without one."""
    try:
        return subprocess.Popen(["nvidia-smi", "--query-gpu=timestamp,utilization.gpu,memory.used",
                                 "--format=csv,noheader,nounits", "-lms", "500"],
                                stdout=path.open("w"), stderr=subprocess.DEVNULL)
    except FileNotFoundError:
        return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--schemes", default="3way,4way")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--runs", default=None, help="scheme:seed pairs instead of every scheme x seed, e.g. 4way:0,3way:0")
    ap.add_argument("--max-minutes", type=float, default=None)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    prof = train.profile()
    t0 = time.perf_counter()
    galaxies = prepare.dataset("mock", prof, progress=False)
    t_data = time.perf_counter() - t0
    print(f"data: {len(galaxies)} galaxies ready in {t_data:.0f} s", flush=True)

    logger = gpu_log(args.out / "gpu_log.csv")
    runs = {}
    t_start = time.time()
    pairs = ([tuple(r.split(":")) for r in args.runs.split(",")] if args.runs else
             [(scheme, seed) for scheme in args.schemes.split(",") for seed in args.seeds.split(",")])
    for scheme, seed in pairs:
        tag = f"{scheme}_seed{seed}"
        cmd = [sys.executable, "-m", "helpers.experiment", "--models", "C2", "--schemes", scheme, "--seeds", seed,
               "--histories", str(args.out / f"hist_{tag}.json")]
        if args.max_minutes:
            cmd += ["--max-minutes", str(args.max_minutes)]
        env = {**os.environ, "GALAXY_OUTPUT_DIR": str(args.out / f"run_{tag}"), "PYTHONUNBUFFERED": "1"}
        runs[tag] = (subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=(args.out / f"{tag}.log").open("w"),
                                      stderr=subprocess.STDOUT), time.perf_counter())
    walls = {}
    for tag, (proc, started) in runs.items():
        rc = proc.wait()
        walls[tag] = time.perf_counter() - started
        print(f"{tag}: exit {rc} after {walls[tag]:.0f} s", flush=True)
    t_end = time.time()
    if logger:
        logger.terminate()

    records, histories, bench = [], {}, []
    where = train.device_name()
    for tag in runs:
        res = args.out / f"run_{tag}" / "results" / "pytorch.json"
        hist = args.out / f"hist_{tag}.json"
        if not res.exists():
            print(f"{tag}: no record (see {tag}.log)")
            continue
        rec = json.loads(res.read_text())[0]
        records.append(rec)
        run_histories = json.loads(hist.read_text())
        histories.update(run_histories)
        h = next(iter(run_histories.values()))
        per_epoch = float(np.median(h["epoch_seconds"]))
        rate = rec["n_train"] * (data.N_VIEWS if prof.augment == "all-views" else 1) / per_epoch
        note = (f"{together(len(runs))} on one GPU; {rec['epochs']} epochs ({rec['stop_reason']}), "
                f"best {rec['best_epoch']}; {walls[tag]:.0f} s end to end (start, training, testing with TTA)")
        bench.append(record(f"{prof.name} profile C2 {tag}: epoch time", where, per_epoch, "s",
                            higher_is_better=False, batch=prof.batch_size, notes=note))
        bench.append(record(f"{prof.name} profile C2 {tag}: training images/s", where, rate, "images/s",
                            batch=prof.batch_size, notes=note))
    if bench:
        total = sum(b["value"] for b in bench if b["unit"] == "images/s")
        bench.append(record(f"{prof.name} profile, {together(len(runs))}: training images/s", where, total, "images/s",
                            20000, batch=prof.batch_size,
                            notes=f"{len(records)} C2 trainings at once ({prof.augment}), bf16, channels-last"))
        bench.append(record(f"{prof.name} profile, {together(len(runs))}: end to end", where,
                            time.perf_counter() - t0, "s", 300 if (prof.name, len(runs)) == ("paper", 1) else None,
                            higher_is_better=False,
                            batch=prof.batch_size,
                            notes=f"the mock set ready in {t_data:.0f} s, then every training to its stop and "
                                  f"its test with TTA"))
    log = args.out / "gpu_log.csv"
    if log.exists() and log.stat().st_size:
        util = []
        for line in log.read_text().splitlines():
            parts = [p.strip() for p in line.split(",")]
            try:
                stamp = time.mktime(time.strptime(parts[0].split(".")[0], "%Y/%m/%d %H:%M:%S"))
                if t_start <= stamp <= t_end:
                    util.append(float(parts[1]))
            except (ValueError, IndexError):
                continue
        if util:
            bench.append(record(f"GPU utilisation, {prof.name} profile, {together(len(runs))}", where, np.mean(util), "%",
                                batch=prof.batch_size, notes=f"nvidia-smi, {len(util)} samples; median {np.median(util):.0f} %"))
    for name, obj in ((f"pytorch_{prof.name}.json", records), (f"pytorch_{prof.name}_histories.json", histories),
                      (f"bench_{prof.name}_runs.json", bench)):
        (args.out / name).write_text(json.dumps(obj, indent=1))
    print(json.dumps(bench, indent=1))
    return 0 if len(records) == len(runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
