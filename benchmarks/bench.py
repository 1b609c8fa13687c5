"""`make bench`: how close training and data handling run to this machine's limit, measured.

Every figure is a record {"name", "device", "value", "unit", "target", "higher_is_better", "batch",
"notes"} in ``results/bench.json`` (merged by (name, device), so a GPU run adds to a CPU run), and a
table is printed. ``--smoke`` runs every benchmark for a few steps on synthetic data: CI checks
that they work and write valid records, not the numbers.

    python benchmarks/bench.py            # the full set on this machine (about 10 minutes on 2 cores)
    python benchmarks/bench.py --smoke    # seconds
"""
from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers import data, evaluate, models_torch, train  # noqa: E402

FIELDS = ("name", "device", "value", "unit", "target", "higher_is_better", "batch", "notes")


def record(name, dev, value, unit, target=None, higher_is_better=True, batch=None, notes="") -> dict:
    return dict(zip(FIELDS, (name, dev, float(value), unit, target, higher_is_better, batch, notes)))


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, dev, reps: int, warmup: int = 1) -> float:
    """Seconds per call of ``fn``: the fastest of ``reps`` timed calls after ``warmup``. This shared
    2-core machine is noisy (the same step measured 190-360 images/s within minutes), and the
    fastest call is the one least disturbed, for the training step and the matrix product alike."""
    for _ in range(warmup):
        fn()
    sync(dev)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync(dev)
        times.append(time.perf_counter() - t0)
    return float(np.min(times))


# ----------------------------------------------------------------------------- the benchmarks

def matmul_rate(dev, dtype=torch.float32, n: int = 2048, reps: int = 5) -> float:
    """GFLOP/s of an n x n x n matrix product: the machine's practical peak for dense float work."""
    a, b = torch.randn(n, n, device=dev, dtype=dtype), torch.randn(n, n, device=dev, dtype=dtype)
    return 2 * n ** 3 / timed(lambda: a @ b, dev, reps) / 1e9


def train_step_rate(name: str, batch: int, dev, steps: int, input_size: int = 100, layout=torch.channels_last,
                    bf16: bool = False, compile_model: bool = False) -> float:
    """Training images/s of the model alone (random inputs already on the device): Adam, cross-entropy."""
    torch.manual_seed(0)
    model = models_torch.build_model(name, 4, input_size).to(dev, memory_format=layout)
    opt = torch.optim.Adam(model.parameters(), lr=2e-4)
    x = torch.randn(batch, 1, input_size, input_size, device=dev).to(memory_format=layout)
    y = torch.randint(0, 4, (batch,), device=dev)
    fwd = torch.compile(model) if compile_model else model

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(fwd(x).float(), y)
        loss.backward()
        opt.step()

    warm = 3 if compile_model else 1
    return batch / timed(step, dev, steps, warmup=warm)


def keras_step_rate(batch: int, steps: int, input_size: int = 100) -> float | None:
    """The same C2 training step in Keras 3 (TensorFlow backend), same batch and thread count."""
    try:
        import keras
        from helpers import models_keras
    except ImportError:
        return None
    import tensorflow as tf
    n = torch.get_num_threads()
    tf.config.threading.set_intra_op_parallelism_threads(n)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(0)
    model = models_keras.build_model("C2", 4, input_size)
    model.compile(optimizer=keras.optimizers.Adam(2e-4), loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).normal(size=(batch, input_size, input_size, 1)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 4, batch)
    return batch / timed(lambda: model.train_on_batch(x, y), torch.device("cpu"), steps, warmup=2)


def pipeline_rate(images, batch: int, dev, reps: int, input_size: int = 100) -> float:
    """Augmented batches/s cut from the stamps in memory (a random view each), as the engine does."""
    src = train.resident(images, dev)
    rng = np.random.default_rng(0)

    def one():
        idx, views = rng.integers(0, len(images), batch), rng.integers(0, data.N_VIEWS, batch)
        train.make_batch(src, idx, views, input_size).to(dev, memory_format=torch.channels_last)

    return 1 / timed(one, dev, reps)


def naive_loader_rate(images, batch: int, reps: int) -> float:
    """Batches/s of the earlier reproduction's pattern: every batch re-reads a text file of flattened
    images and reshapes it (here with the same random views cut afterwards)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "images.txt"
        np.savetxt(path, images.reshape(len(images), -1), fmt="%.6g")
        rng = np.random.default_rng(0)

        def one():
            flat = np.loadtxt(path, dtype=np.float32).reshape(-1, data.STAMP, data.STAMP)
            idx, views = rng.integers(0, len(flat), batch), rng.integers(0, data.N_VIEWS, batch)
            train.make_batch(flat, idx, views, 100)

        return 1 / timed(one, torch.device("cpu"), reps, warmup=0)


def inference_rate(images, dev, tta: bool, input_size: int = 100) -> float:
    """Galaxies/s classified by C2, centre view only or averaged over the 40 views."""
    model = models_torch.build_model("C2", 4, input_size).to(dev)
    return len(images) / timed(lambda: evaluate.predict_proba(model, images, input_size, tta=tta), dev, 1)


def in_fresh_process(code: str, n_values: int = 1) -> list[float]:
    """The last ``n_values`` numbers ``code`` prints, run in a fresh interpreter that imports the
    repository and benchmarks/: what a user's own process sees (its allocator, imports and memory)."""
    setup = f"import sys; sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'benchmarks')!r}]\n"
    out = subprocess.run([sys.executable, "-c", setup + code], capture_output=True, text=True, check=True)
    return [float(v) for v in out.stdout.split()[-n_values:]]


def generation_rate(n: int, workers: int, reps: int = 2) -> float:
    """Mock galaxies/s rendered with GalSim on ``workers`` processes, the faster of ``reps`` runs (as
    every figure here is the fastest of several calls), each started from a fresh process as `make
    data` does: spawned workers re-import the main module, which here would be this benchmark with
    torch and TensorFlow (2 s more per worker, a fifth of a 1000-galaxy run). The start of the pool
    (0.7 s) is counted."""
    code = (f"import time; from helpers import mock; t0 = time.perf_counter(); "
            f"mock.generate({n}, seed=123, workers={workers}, progress=False); print({n} / (time.perf_counter() - t0))")
    return max(in_fresh_process(code)[0] for _ in range(reps))


CHILD = """
import numpy as np
from helpers import models_torch, train
n, size, epochs = {n}, {size}, {epochs}
rng = np.random.default_rng(0)
images = rng.standard_normal((n, 110, 110), dtype=np.float32)
labels = rng.integers(0, 4, n)
cut = int(0.85 * n)
prof = train.Profile("bench", n, size, 64, 1e-3, epochs, epochs, "random-view", "none", (0,))
train.seed_everything(0)
model = models_torch.build_model("C2", 4, size)
h = train.fit(model, images[:cut], labels[:cut], images[cut:], labels[cut:], prof, 0, progress=False)
# VmHWM, not getrusage's maxrss: that one keeps the parent's peak across fork and exec
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
print(min(h.epoch_seconds), int(hwm.split()[1]) / 1024)
"""


@functools.cache  # one run per (n, size, epochs): in --smoke the peak-RSS run and the half-set epoch are the same
def training_run(n: int, size: int = 50, epochs: int = 1) -> tuple[float, float]:
    """(seconds of the fastest epoch, peak RSS in MB) of a training run in a fresh process, on ``n``
    galaxies (85 % trained, random views, batch 64): memory as a user's notebook sees it."""
    seconds, rss = in_fresh_process(CHILD.format(n=n, size=size, epochs=epochs), 2)
    return seconds, rss


# ----------------------------------------------------------------------------- the run

def default_allocator_rate(name: str, batch: int, steps: int) -> float:
    """:func:`train_step_rate` (float32) in a fresh process whose glibc keeps its defaults: the
    baseline of :func:`train.keep_freed_memory`, which this process has switched on."""
    code = (f"import bench, torch; torch.set_num_threads({torch.get_num_threads()}); "
            f"print(bench.train_step_rate({name!r}, {batch}, torch.device('cpu'), {steps}))")
    return in_fresh_process(code)[0]


def cpu_benchmarks(smoke: bool) -> list[dict]:
    dev = torch.device("cpu")
    torch.set_num_threads(os.cpu_count() or 1)
    where = train.device_name(dev)
    steps = 1 if smoke else 5
    batches = (8,) if smoke else (64, 400)
    recs = []
    baseline = default_allocator_rate("C2", batches[-1], steps)
    train.keep_freed_memory()
    engine_bf16 = train.bfloat16_enabled(dev)
    precisions = {"float32": False, "bfloat16": True} if engine_bf16 or smoke else {"float32": False}
    n = 256 if smoke else 2048
    peaks = {label: matmul_rate(dev, torch.bfloat16 if bf16 else torch.float32, n=n, reps=2 if smoke else 10)
             for label, bf16 in precisions.items()}
    for label, peak in peaks.items():
        recs.append(record(f"{label} matrix product 2048^3", where, peak, "GFLOP/s",
                           notes=f"the peak {label} training is held against"))
    for name in ("C1", "C2"):
        flops = models_torch.training_flops(models_torch.build_model(name, 4, 100))
        for label, bf16 in precisions.items():
            engine = bf16 == engine_bf16
            for batch in batches:
                rate = train_step_rate(name, batch, dev, steps, bf16=bf16)
                target = name == "C2" and batch == batches[-1]
                tag = f"{name} training, 100x100, {label}, channels-last"
                why = "the training engine's precision here" if engine else "not the engine's precision here"
                recs.append(record(tag, where, rate, "images/s", 85 if target else None, batch=batch, notes=why))
                # Every step is held against the float32 product (the target's measure); a bfloat16
                # step also against the bfloat16 product, the peak it could reach on AMX.
                for ref in dict.fromkeys(("float32", label)):
                    recs.append(record(f"{name} training, {label}, fraction of the {ref} matmul", where,
                                       rate * flops / 1e9 / peaks[ref], "fraction",
                                       0.85 if target and engine and ref == "float32" else None, batch=batch,
                                       notes=f"{flops / 1e9:.2f} GFLOP per image (layer shapes, x3 for backward)"))
    batch = batches[-1]
    recs.append(record("C2 training, 100x100, float32, glibc's default allocator", where, baseline, "images/s",
                       batch=batch, notes="a fresh process without train.keep_freed_memory: every large "
                                          "activation mapped and zeroed anew each step"))
    if not smoke:  # the torch.compile below alone takes 20 s or more on two cores
        rate = train_step_rate("C2", batch, dev, steps, layout=torch.contiguous_format)
        recs.append(record("C2 training, 100x100, float32, contiguous (NCHW)", where, rate, "images/s", batch=batch))
        t0 = time.perf_counter()
        try:
            rate = train_step_rate("C2", batch, dev, steps, bf16=engine_bf16, compile_model=True)
            recs.append(record(f"C2 training, 100x100, {'bfloat16' if engine_bf16 else 'float32'}, torch.compile",
                               where, rate, "images/s", batch=batch, notes=f"{time.perf_counter() - t0:.0f} s "
                               "with the compilation, which every process and batch shape pays again"))
        except Exception as e:  # torch.compile needs a working C++ compiler
            print(f"C2 torch.compile on the CPU failed ({type(e).__name__}: {e})")
    keras_rate = keras_step_rate(batch, steps)
    if keras_rate is not None:
        recs.append(record("C2 training in Keras (TensorFlow), 100x100, float32", where, keras_rate, "images/s",
                           batch=batch, notes="same threads; compare with the PyTorch float32 C2 above"))

    n = 64 if smoke else 2000
    images = data.normalise(np.random.default_rng(0).normal(size=(n, data.STAMP, data.STAMP)).astype(np.float32) + 1)
    for batch, size in (((8, 100),) if smoke else ((64, 50), (400, 100))):
        bps = pipeline_rate(images, batch, dev, 3 if smoke else 20, size)
        step = batch / train_step_rate("C2", batch, dev, steps, input_size=size, bf16=engine_bf16)
        recs.append(record(f"data pipeline, {size}x{size} random views", where, bps, "batches/s", batch=batch))
        recs.append(record(f"data pipeline share of a C2 step, {size}x{size}", where, (1 / bps) / (1 / bps + step),
                           "fraction", 0.05, higher_is_better=False, batch=batch,
                           notes=f"a {'bfloat16' if engine_bf16 else 'float32'} step, as the engine trains here"))
    naive = naive_loader_rate(images[:16 if smoke else 500], 64 if not smoke else 8, 1 if smoke else 3)
    ours = pipeline_rate(images[:16 if smoke else 500], 64 if not smoke else 8, dev, 3, 100)
    recs.append(record("data pipeline vs naive text loader (same galaxies)", where, ours / naive, "x faster",
                       batch=64, notes=f"naive {naive:.2f} batches/s (re-reads a text file of "
                                       f"{16 if smoke else 500} flattened stamps per batch), ours {ours:.0f}"))
    for tta in (False, True):
        recs.append(record(f"C2 inference, 100x100, {'40-view TTA' if tta else 'centre view'}", where,
                           inference_rate(images[:8 if smoke else 500], dev, tta), "galaxies/s"))
    workers = os.cpu_count() or 1
    recs.append(record(f"mock generation ({workers} processes)", where, generation_rate(8 if smoke else 2000, workers, 1 if smoke else 2),
                       "galaxies/s", 100))

    seconds, rss = training_run(48 if smoke else 3000, epochs=1)
    recs.append(record("peak RSS, quick-profile training (3000 galaxies, 50x50)" if not smoke else
                       "peak RSS, training (smoke)", where, rss, "MB", 4000, higher_is_better=False))
    for frac in ((0.5, 1.0) if smoke else (0.25, 0.5, 1.0)):
        n = int((96 if smoke else 14034) * frac)
        seconds, rss = training_run(n)
        recs.append(record(f"epoch on {frac:.0%} of the set ({n} galaxies, 50x50)", where, seconds, "s",
                           higher_is_better=False, batch=64, notes=f"peak RSS {rss:.0f} MB; random views"))
    return recs


def gpu_benchmarks(smoke: bool) -> list[dict]:
    dev = torch.device("cuda")
    where = train.device_name(dev)
    steps = 3 if smoke else 30
    recs = []
    peak = matmul_rate(dev, torch.bfloat16, n=8192, reps=steps)
    recs.append(record("bfloat16 matrix product 8192^3", where, peak, "GFLOP/s"))
    flops = models_torch.training_flops(models_torch.build_model("C2", 4, 100))
    variants = {"float32, NCHW": dict(layout=torch.contiguous_format),
                "bfloat16, NCHW": dict(layout=torch.contiguous_format, bf16=True),
                "bfloat16, channels-last": dict(bf16=True),
                "bfloat16, channels-last, torch.compile": dict(bf16=True, compile_model=True)}
    for label, kw in variants.items():
        for batch in ((400,) if "compile" in label else (400, 2000)):
            try:
                rate = train_step_rate("C2", batch, dev, steps, **kw)
            except Exception as e:  # torch.compile needs a working compiler toolchain
                print(f"C2 {label}, batch {batch}: failed ({type(e).__name__}: {e})")
                continue
            recs.append(record(f"C2 training, 100x100, {label}", where, rate, "images/s",
                               20000 if batch == 400 else None, batch=batch,
                               notes=f"{rate * flops / 1e12:.1f} TFLOP/s, {rate * flops / 1e9 / peak:.1%} of the bf16 matmul"))
    images = data.normalise(np.random.default_rng(0).normal(size=(4000, data.STAMP, data.STAMP)).astype(np.float32) + 1)
    bps = pipeline_rate(images, 400, dev, steps)
    step = 400 / train_step_rate("C2", 400, dev, steps, bf16=True)
    recs.append(record("data pipeline on the GPU, 100x100 random views", where, bps, "batches/s", batch=400))
    recs.append(record("data pipeline share of a C2 step on the GPU", where, (1 / bps) / (1 / bps + step), "fraction",
                       0.05, higher_is_better=False, batch=400))
    for tta in (False, True):
        recs.append(record(f"C2 inference, 100x100, {'40-view TTA' if tta else 'centre view'}", where,
                           inference_rate(images, dev, tta), "galaxies/s"))
    return recs


def merge(path: Path, recs: list[dict]) -> list[dict]:
    """Replace records of the same (name, device), keep the others; written atomically."""
    keys = {(r["name"], r["device"]) for r in recs}
    out = [r for r in evaluate.read_records(path) if (r["name"], r["device"]) not in keys] + recs
    evaluate.write_json(path, out)
    return out


def table(recs: list[dict]) -> str:
    lines = [f"{'benchmark':<58s} {'batch':>5s} {'value':>10s} {'unit':<10s} {'target':>8s}  ok"]
    for r in recs:
        ok = "" if r["target"] is None else (
            "yes" if (r["value"] >= r["target"]) == r["higher_is_better"] else "NO")
        lines.append(f"{r['name'][:58]:<58s} {r['batch'] or '':>5} {r['value']:>10.3g} {r['unit']:<10s} "
                     f"{'' if r['target'] is None else r['target']:>8}  {ok}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="a few steps of each, synthetic data (CI)")
    ap.add_argument("--out", type=Path, default=data.RESULTS_DIR / "bench.json")
    ap.add_argument("--gpu-only", action="store_true", help="skip the CPU benchmarks (on the GPU machine)")
    args = ap.parse_args(argv)
    recs = [] if args.gpu_only else cpu_benchmarks(args.smoke)
    if torch.cuda.is_available():
        recs += gpu_benchmarks(args.smoke)
    if args.smoke:
        for r in recs:
            r["notes"] = ("smoke run (a few steps, synthetic data): not a measurement. " + r["notes"]).strip()
    merge(args.out, recs)
    print(table(recs))
    print(f"{len(recs)} records -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
