"""The training engine: profiles, batches made on the fly, early stopping, checkpoints, determinism.

Three profiles trade fidelity for time (``PROFILES``): ``smoke`` for CI (seconds), ``quick`` for a
CPU (minutes; the committed notebook outputs) and ``paper`` for a GPU (the paper's settings: 100x100
inputs, batch 400, Adam at 2e-4, up to 100 epochs, the 40-fold expanded training set). The CPU
profiles' one concession besides size is ``input_size=50``: the 100x100 view binned 2x2 (mean), a
coarser 0.79"/px, which cuts the cost of a step about fourfold.

Reproducibility: :func:`seed_everything` seeds every generator and switches torch to deterministic
algorithms with a fixed thread count; the order of the galaxies and the views of an epoch come from
a numpy generator seeded by (seed, epoch), and torch's generator (dropout) is reseeded from
(seed, epoch) too. An epoch therefore depends only on the weights and optimizer state it starts
from, which the checkpoint holds: a run interrupted and resumed ends with the same weights, bit for
bit, as one that ran straight through (on the same machine and thread count).
"""
from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import random
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import data

# ----------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class Profile:
    name: str
    n_galaxies: int       # galaxies in the whole set (train + val + test) the notebooks use
    input_size: int       # network input, pixels: 100 (the paper) or 50 (100x100 binned 2x2)
    batch_size: int
    lr: float             # Adam learning rate
    max_epochs: int
    patience: int         # early stopping: epochs without a lower validation loss
    augment: str          # 'random-view' or 'all-views' (see AUGMENT)
    class_weights: str    # 'none' or 'balanced' (see class_weights())
    seeds: tuple[int, ...]


AUGMENT = {
    # One of the 40 views of every training galaxy per epoch, drawn at random: the same number of
    # steps per epoch as the un-augmented set, and a fresh view each time the galaxy comes back.
    "random-view": "one random view of the 40 per galaxy per epoch",
    # The paper's 40-fold expanded set: every epoch visits each of the 40 fixed views of every
    # training galaxy once (so one epoch is 40 passes over the galaxies).
    "all-views": "all 40 views of every training galaxy per epoch",
}

PROFILES = {p.name: p for p in (
    # make test runs every notebook in it (nbval), and four of them again on a real-format set: it checks
    # that they run and that their asserts hold, not how well they learn
    Profile("smoke", 300, 50, 16, 1e-3, 3, 3, "random-view", "none", (0,)),
    Profile("quick", 3000, 50, 64, 1e-3, 10, 3, "random-view", "none", (0,)),
    # All 14034 galaxies with the CPU settings and three seeds: the largest run a CPU does in an hour.
    Profile("full", 14034, 50, 64, 1e-3, 20, 4, "random-view", "none", (0, 1, 2)),
    Profile("paper", 14034, 100, 400, 2e-4, 100, 10, "all-views", "none", (0, 1, 2)),
)}


def profile(name: str | None = None) -> Profile:
    """The profile called ``name``, else the one named by the environment variable ``PROFILE``
    (default 'quick'), so that ``PROFILE=smoke`` makes every notebook run in seconds."""
    source = "argument" if name else "environment variable PROFILE"
    name = name or os.environ.get("PROFILE", "quick")
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r} (from the {source}); choose one of {sorted(PROFILES)}")
    return PROFILES[name]


# ----------------------------------------------------------------------------- determinism and device

def device() -> torch.device:
    """CUDA when available, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def device_name(dev: torch.device | None = None) -> str:
    """``dev`` (default :func:`device`) in words, for the records: the GPU's name or the CPU's thread count,
    and the precision it trains in (:func:`bfloat16_enabled`): a rerun in the other one moves the numbers."""
    dev = dev or device()
    precision = "bfloat16" if bfloat16_enabled(dev) else "float32"
    if dev.type == "cuda":
        return f"{torch.cuda.get_device_name(dev)}, {precision}"
    return f"CPU, {torch.get_num_threads()} threads, {precision}"


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch, and make torch deterministic.

    A fixed thread count matters on the CPU: how a reduction is split over threads changes its
    rounding, so the same seed gives the same weights only with the same number of threads (and the
    same precision, :func:`bfloat16_enabled`: a CPU with AMX trains in bfloat16, one without in
    float32). The count is every core, or ``TORCH_NUM_THREADS`` where the machine is shared: threads that
    wait for a busy core spin, and two processes of two threads on two cores each ran an epoch 60 times
    slower than alone. On a GPU
    cuDNN chooses its fastest kernels (``cudnn.benchmark``), some of them non-deterministic, and
    training runs in bfloat16 (:func:`autocast`): GPU runs of one seed agree in distribution, not bit
    for bit. That is the price of the paper profile running in minutes rather than an hour.
    """
    keep_freed_memory()
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads())
    if torch.cuda.is_available():
        torch.backends.cudnn.benchmark = True
        torch.use_deterministic_algorithms(False)
    else:
        torch.use_deterministic_algorithms(True)


def threads() -> int:
    """torch's thread count: ``TORCH_NUM_THREADS`` (environment) where set, else every core. On a CPU that
    other jobs share, fewer threads than cores can be far faster: measured here with about 12 processes
    wanting the 2 cores, a C2 step at batch 16 took 5.3 s on 2 threads and 0.34-0.5 s on 1."""
    return int(os.environ.get("TORCH_NUM_THREADS", 0)) or os.cpu_count() or 1


def _epoch_seed(seed: int, epoch: int) -> int:
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


def memory_format(dev: torch.device) -> torch.memory_format:
    """channels_last: on the CPU measured 16-20 % faster per C2 training step (oneDNN convolutions
    work in NHWC), at 50x50 and at 100x100, batch 64; on a GPU the bfloat16 tensor-core convolutions
    are NHWC too (``make bench`` measures both layouts there)."""
    return torch.channels_last


def bfloat16_enabled(dev: torch.device) -> bool:
    """Whether training and inference on ``dev`` run in bfloat16 mixed precision (:func:`autocast`).

    ``PRECISION`` (environment) chooses: ``float32``, ``bfloat16``, or ``auto`` (the default): on a GPU,
    and on a CPU with native bfloat16 matrix units (Intel AMX tiles or AVX-512 BF16), where oneDNN's
    bfloat16 convolutions train C2 2.8 times faster than float32 (``make bench``: 347 against 124
    images/s at batch 400); float32 on other
    CPUs, which would only emulate bfloat16. A CPU run is bit-reproducible on the same machine and
    thread count in either precision, not across precisions.
    """
    choice = os.environ.get("PRECISION", "auto")
    if choice not in ("auto", "float32", "bfloat16"):
        raise ValueError(f"PRECISION must be auto, float32 or bfloat16, not {choice!r}")
    if choice != "auto":
        return choice == "bfloat16"
    return dev.type == "cuda" or _cpu_has_native_bfloat16()


@functools.cache
def _cpu_has_native_bfloat16() -> bool:
    """AMX tiles or AVX-512 BF16 (asked once: :func:`autocast` runs at every training step)."""
    cpu = getattr(torch, "cpu", None)
    return bool(getattr(cpu, "_is_amx_tile_supported", lambda: False)()
                or getattr(cpu, "_is_avx512_bf16_supported", lambda: False)())


def autocast(dev: torch.device):
    """bfloat16 mixed precision where :func:`bfloat16_enabled` says so; weights, optimiser state, loss
    and batch-norm statistics stay float32."""
    return torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bfloat16_enabled(dev))


def keep_freed_memory() -> bool:
    """Have glibc keep the memory a training step frees, for the next step, instead of handing it
    back to the kernel; returns whether it could (glibc on Linux only).

    By default glibc serves every block above 32 MB (a C2 activation at batch 400 is 500 MB) with a
    fresh mmap and unmaps it when freed, so every step faults in and zeroes its memory anew: measured
    here, 1.2 million page faults and 2.3 s of kernel time per C2 step at batch 400, a quarter of the
    step. With no mmap and no trimming the heap is reused: C2 in float32 at batch 400 runs at 124
    images/s against 78 (``make bench`` measures both). The price: a process's resident memory stays
    at its high-water mark.
    """
    global _KEPT
    if _KEPT is None:
        try:
            libc = ctypes.CDLL("libc.so.6")
            m_trim_threshold, m_top_pad, m_mmap_max = -1, -2, -4  # glibc's <malloc.h>
            _KEPT = all(libc.mallopt(param, value) == 1 for param, value in (
                (m_mmap_max, 0), (m_trim_threshold, 2 ** 31 - 1), (m_top_pad, 256 << 20)))
        except (OSError, AttributeError):
            _KEPT = False
    return _KEPT


_KEPT: bool | None = None


def resident(images: np.ndarray, dev: torch.device):
    """The stamps where batches are cut from: moved once to a GPU (14034 stamps are 680 MB), where
    :func:`make_batch` cuts the views; left as the numpy array on the CPU."""
    if dev.type == "cuda":
        return torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).to(dev)
    return images


# ----------------------------------------------------------------------------- batches

def _bin_factor(input_size: int) -> int:
    f = data.CROP // input_size
    if f * input_size != data.CROP:
        raise ValueError(f"input_size must divide {data.CROP} (e.g. 100 or 50), got {input_size}")
    return f


def bin_image(x: torch.Tensor, input_size: int) -> torch.Tensor:
    """(B, 1, 100, 100) -> (B, 1, S, S) by the mean over f x f blocks, f = 100 / S (1 leaves it alone).

    Summed over the block's pixels in row-major order, then divided by f^2: the very arithmetic of
    ``F.avg_pool2d`` (the same float32 values, tested), in strided whole-tensor additions that take a
    third of its time (0.42 against 1.43 ms at a batch of 64, 2.4 against 9.3 ms at 400).
    """
    f = _bin_factor(input_size)
    if f == 1:
        return x
    out = x[..., 0::f, 0::f].clone()
    for dy in range(f):
        for dx in range(f):
            if dy or dx:
                out.add_(x[..., dy::f, dx::f])
    return out.div_(f * f)


def make_batch(images, idx, views, input_size: int) -> torch.Tensor:
    """The network input for galaxies ``idx`` seen in ``views`` (one view index each, or one for all).

    ``images`` are the normalised (N, 110, 110) stamps; the views are cut when the batch is made, so
    the 40-fold set never exists in memory. For a numpy array the batch is cut with numpy and returned
    as a float32 tensor (B, 1, S, S) on the CPU. For a tensor (the set resident on a GPU, see
    :func:`fit`) it is one gather through :func:`view_index` on the tensor's device, with ``idx`` and
    ``views`` numpy arrays or tensors; both give the same pixels (tested).
    """
    if isinstance(images, torch.Tensor):
        dev = images.device
        idx = torch.as_tensor(idx, device=dev)
        views = torch.as_tensor(views, device=dev).expand(idx.shape)
        x = images.reshape(len(images), -1)[idx[:, None], view_index(dev)[views]]
        return bin_image(x.view(-1, 1, data.CROP, data.CROP), input_size)
    return bin_image(torch.from_numpy(data.views_batch(images, idx, views)).unsqueeze(1), input_size)


_VIEW_INDEX: dict[str, torch.Tensor] = {}


def view_index(dev) -> torch.Tensor:
    """(40, 100*100) positions in a flattened 110x110 stamp of the pixels of each view, on ``dev``:
    ``data.view`` applied to a stamp that holds its own pixel numbers, so there is one definition."""
    key = str(dev)
    if key not in _VIEW_INDEX:
        numbers = np.arange(data.STAMP * data.STAMP).reshape(data.STAMP, data.STAMP)
        maps = np.stack([data.view(numbers, v).reshape(-1) for v in range(data.N_VIEWS)])
        _VIEW_INDEX[key] = torch.from_numpy(maps.astype(np.int64)).to(dev)
    return _VIEW_INDEX[key]


def epoch_plan(n: int, augment: str, seed: int, epoch: int) -> tuple[np.ndarray, np.ndarray]:
    """(galaxy indices, view indices) of one training epoch, in the order they are visited."""
    rng = np.random.default_rng([seed, epoch])
    if augment == "random-view":
        return rng.permutation(n), rng.integers(0, data.N_VIEWS, n)
    if augment == "all-views":
        pairs = rng.permutation(n * data.N_VIEWS)
        return pairs // data.N_VIEWS, pairs % data.N_VIEWS
    raise ValueError(f"unknown augment {augment!r}; choose one of {sorted(AUGMENT)}")


def class_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """'balanced' weights n / (k * count_c), as scikit-learn's: every class then carries the same
    total weight in the loss, so the 388 Irr+Misc galaxies are not drowned by 7708 spirals."""
    counts = np.bincount(labels, minlength=n_classes)
    if np.any(counts == 0):
        raise ValueError(f"balanced class weights need every class in the training set; counts {counts}")
    return len(labels) / (n_classes * counts)


# ----------------------------------------------------------------------------- batch normalisation

PRECISE_BN_GALAXIES = 1024  # training galaxies over which the statistics are recomputed each epoch


def recalibrate_batchnorm(model: nn.Module, images, idx, input_size: int, batch_size: int,
                          rng: np.random.Generator, batch_fn=make_batch) -> None:
    """Recompute every batch-normalisation layer's running mean and variance with the current
    weights ("precise BN"; Wu & Johnson 2021), in place; the model is left in eval mode.

    During training each layer keeps an exponential average (momentum 0.1, i.e. over the last ten
    or so batches) of statistics computed while the weights were still moving. With a learning rate
    of 1e-3 and a few hundred steps, as in the CPU profiles, that average lags the weights: in
    evaluation mode the network's probabilities shift although its ranking of galaxies hardly moves,
    the validation loss jumps from epoch to epoch and early stopping keeps the wrong epoch. Here the
    statistics are averaged afresh over the galaxies ``idx`` (one random view each, drawn from
    ``rng``, in batches as in training), without any weight changing. :func:`fit` does this before
    every validation, so the weights it keeps carry statistics that belong to them.
    """
    layers = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not layers:
        return
    dev = next(model.parameters()).device
    fmt = memory_format(dev)
    idx = np.asarray(idx)
    views = rng.integers(0, data.N_VIEWS, len(idx))
    momenta = [m.momentum for m in layers]
    try:
        for m in layers:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the batches below
        model.train()
        with torch.no_grad(), autocast(dev):
            for start in range(0, len(idx), batch_size):
                sl = slice(start, start + batch_size)
                model(batch_fn(images, idx[sl], views[sl], input_size).to(dev, memory_format=fmt))
    finally:
        for m, momentum in zip(layers, momenta):
            m.momentum = momentum
        model.eval()


# ----------------------------------------------------------------------------- fitting

@dataclass
class History:
    """Per-epoch curves (index 0 is epoch 1) and the outcome of early stopping (1-based epochs)."""
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    best_epoch: int = 0
    stopped_epoch: int = 0
    train_seconds: float = 0.0
    stop_reason: str = ""  # 'early stopping', 'max epochs' or 'time budget'

    def to_dict(self) -> dict:
        return asdict(self)


def _n_classes(model: nn.Module, labels: np.ndarray) -> int:
    return int(getattr(model, "n_classes", int(labels.max()) + 1))


@torch.no_grad()
def _evaluate(model, images, labels, input_size, weight, dev, fmt, batch_size,
              batch_fn=make_batch) -> tuple[float, float]:
    """Loss (weighted mean, as the training loss) and accuracy on the centre view of every galaxy."""
    model.eval()
    loss_sum = weight_sum = correct = 0.0
    for start in range(0, len(labels), batch_size):
        idx = np.arange(start, min(start + batch_size, len(labels)))
        x = batch_fn(images, idx, data.CENTRE_VIEW, input_size).to(dev, memory_format=fmt)
        y = torch.from_numpy(labels[idx]).to(dev)
        with autocast(dev):
            logits = model(x).float()
        loss_sum += F.cross_entropy(logits, y, weight=weight, reduction="sum").item()
        weight_sum += weight[y].sum().item() if weight is not None else len(y)
        correct += (logits.argmax(1) == y).sum().item()
    return loss_sum / weight_sum, correct / len(labels)


def _save_checkpoint(path: Path, state: dict) -> None:
    """Write to ``<path>.tmp`` then rename: a crash mid-write leaves the previous checkpoint intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _load_checkpoint(path: Path, dev: torch.device) -> dict:
    """torch.load a checkpoint after checking the CRC-32 of every record of its zip archive: torch.save
    writes them but torch.load does not check them, and would read bytes changed on disk as other weights.
    Any failure is a ValueError that names the file and the remedy."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
        if bad is not None:
            raise ValueError(f"the CRC-32 of its record {bad!r} does not match: its bytes changed after it was written")
        return torch.load(path, map_location=dev, weights_only=True)
    except Exception as e:  # truncated, altered or foreign file: say which, and what to do
        raise ValueError(f"{path}: not a readable checkpoint ({e}); delete it to start afresh") from e


def _profile_dict(p: Profile) -> dict:
    return {**asdict(p), "seeds": list(p.seeds)}  # lists survive torch.save/load as they were


# Bumped when the engine changes what a finished checkpoint holds (2: batch-norm statistics
# recomputed before every validation), so that older checkpoints are retrained, not reused.
ENGINE_VERSION = 2


def _fingerprint(model: nn.Module, train_images, train_labels, val_labels, bf16: bool) -> str:
    """A short hash of the network's shape, the engine's version, the precision it trains in and the
    data (labels, every 64th image in full)."""
    h = hashlib.sha1()
    h.update(repr([(k, tuple(v.shape)) for k, v in model.state_dict().items()] + [ENGINE_VERSION, bf16]).encode())
    for arr in (train_labels, val_labels, train_images[::64]):
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()[:16]


def _cpu_state(model: nn.Module) -> dict:
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}


def fit(model: nn.Module, train_images: np.ndarray, train_labels: np.ndarray,
        val_images: np.ndarray, val_labels: np.ndarray, profile: Profile, seed: int,
        checkpoint_path=None, progress: bool = True,
        on_epoch_end: Callable[[int, History], None] | None = None, max_seconds: float | None = None,
        batch_fn=make_batch) -> History:
    """Train ``model`` in place with Adam and cross-entropy; stop early on the validation loss.

    Images are normalised (N, 110, 110) stamps, labels integers 0..k-1. Every epoch draws its views
    as ``profile.augment`` says and is validated on the centre view of each validation galaxy, after
    the batch-normalisation statistics are recomputed with the epoch's weights on up to
    ``PRECISE_BN_GALAXIES`` training galaxies (:func:`recalibrate_batchnorm`). When
    the validation loss has not fallen for ``profile.patience`` epochs, training stops and the
    weights of the best epoch are restored. With ``profile.class_weights == 'balanced'`` the loss
    (training and validation alike, so that early stopping watches what is optimised) weighs each
    class by n / (k * count) of the training set.

    With ``checkpoint_path`` the whole state is saved after every epoch, and an existing checkpoint
    is resumed from (a finished one just restores the best weights). ``on_epoch_end(epoch, history)``
    is called after each epoch's checkpoint (for live plots; an exception there interrupts cleanly).
    ``max_seconds``: a wall-clock budget for this call; training stops after the epoch that exceeds
    it, with the best epoch's weights, and ``history.stop_reason`` says so (the checkpoint is not
    marked done, so a later call resumes it).

    On a GPU the stamps are copied to the device once and every batch is cut there (:func:`resident`),
    in bfloat16 mixed precision (:func:`autocast`); losses are summed on the device and read back only
    when the progress bar is refreshed, so the GPU never waits for Python.
    ``batch_fn(images, idx, views, input_size)`` makes a batch tensor (default :func:`make_batch`,
    the 110x110 single-band stamps; ``galaxy10.torch_batch`` for the 69x69 colour images).
    """
    train_labels = np.asarray(train_labels, dtype=np.int64)
    val_labels = np.asarray(val_labels, dtype=np.int64)
    if len(train_images) != len(train_labels) or len(val_images) != len(val_labels):
        raise ValueError("images and labels differ in length")
    seed_everything(seed)
    dev = device()
    fmt = memory_format(dev)
    model.to(dev, memory_format=fmt)
    n_classes = _n_classes(model, train_labels)
    weight = None
    if profile.class_weights == "balanced":
        weight = torch.tensor(class_weights(train_labels, n_classes), dtype=torch.float32, device=dev)
    elif profile.class_weights != "none":
        raise ValueError(f"unknown class_weights {profile.class_weights!r}; use 'none' or 'balanced'")
    criterion = nn.CrossEntropyLoss(weight=weight)
    optimizer = torch.optim.Adam(model.parameters(), lr=profile.lr)

    history = History()
    best_state, best_loss, bad_epochs, start, done = _cpu_state(model), float("inf"), 0, 0, False
    checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
    fingerprint = _fingerprint(model, train_images, train_labels, val_labels, bfloat16_enabled(dev))
    if checkpoint_path and checkpoint_path.exists():
        ck = _load_checkpoint(checkpoint_path, dev)
    if checkpoint_path and checkpoint_path.exists() and ck.get("fingerprint") != fingerprint:
        # Same name, other data, network, engine or precision (a regenerated mock set, say): a stale run.
        print(f"{checkpoint_path}: made from other data, another network, engine or precision; training afresh")
    elif checkpoint_path and checkpoint_path.exists():
        if ck["seed"] != seed or ck["profile"] != _profile_dict(profile):
            raise ValueError(f"{checkpoint_path}: written for seed {ck['seed']} and profile {ck['profile']}, "
                             f"not seed {seed} and {_profile_dict(profile)}; delete it to start afresh")
        model.load_state_dict(ck["model"])
        optimizer.load_state_dict(ck["optimizer"])
        history = History(**ck["history"])
        best_state, best_loss, bad_epochs = ck["best_state"], ck["best_val_loss"], ck["bad_epochs"]
        start, done = ck["epoch"], ck["done"]
        torch.set_rng_state(ck["rng_torch"])  # redundant with the per-epoch reseed; kept for completeness

    t_call = time.perf_counter()
    if batch_fn is make_batch:  # other batch makers (Galaxy10's colour frames) cut from numpy arrays
        train_x, val_x = resident(train_images, dev), resident(val_images, dev)
    else:
        train_x, val_x = train_images, val_images
    labels_t = torch.from_numpy(train_labels).to(dev)
    for epoch in range(start, 0 if done else profile.max_epochs):
        t0 = time.perf_counter()
        torch.manual_seed(_epoch_seed(seed, epoch))  # dropout masks depend on (seed, epoch) only
        order, views = epoch_plan(len(train_labels), profile.augment, seed, epoch)
        if dev.type == "cuda":
            order, views = torch.from_numpy(order).to(dev), torch.from_numpy(views).to(dev)
        model.train()
        loss_sum = torch.zeros((), device=dev)
        correct = torch.zeros((), device=dev, dtype=torch.int64)
        steps = range(0, len(order), profile.batch_size)
        bar = tqdm(steps, desc=f"epoch {epoch + 1}/{profile.max_epochs}", disable=not progress, leave=True,
                   unit="batch", mininterval=1.0)
        for step, start_b in enumerate(bar):
            sl = slice(start_b, start_b + profile.batch_size)
            x = batch_fn(train_x, order[sl], views[sl], profile.input_size).to(dev, memory_format=fmt)
            y = labels_t[torch.as_tensor(order[sl], device=dev)]
            optimizer.zero_grad(set_to_none=True)
            with autocast(dev):
                logits = model(x).float()
            loss = criterion(logits, y)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(y)
            correct += (logits.argmax(1) == y).sum()
            if progress and (step % 50 == 0 or step == len(steps) - 1):
                seen = min(start_b + profile.batch_size, len(order))
                bar.set_postfix(loss=f"{loss_sum.item() / seen:.4f}", acc=f"{correct.item() / seen:.3f}")
        seen = len(order)
        train_loss, train_acc = loss_sum.item() / seen, correct.item() / seen
        # The same galaxies, views and batches every epoch: the statistics depend on the weights alone.
        rng = np.random.default_rng([seed, 1])
        subset = rng.permutation(len(train_labels))[:PRECISE_BN_GALAXIES]
        recalibrate_batchnorm(model, train_x, subset, profile.input_size, profile.batch_size, rng, batch_fn)
        val_loss, val_acc = _evaluate(model, val_x, val_labels, profile.input_size, weight, dev, fmt,
                                      max(profile.batch_size, 256), batch_fn)
        bar.set_postfix(loss=f"{train_loss:.4f}", acc=f"{train_acc:.3f}",
                        val_loss=f"{val_loss:.4f}", val_acc=f"{val_acc:.3f}")
        bar.close()

        history.train_loss.append(train_loss)
        history.train_acc.append(train_acc)
        history.val_loss.append(val_loss)
        history.val_acc.append(val_acc)
        history.epoch_seconds.append(time.perf_counter() - t0)
        history.train_seconds = float(sum(history.epoch_seconds))
        history.stopped_epoch = epoch + 1
        if val_loss < best_loss:
            best_loss, bad_epochs, best_state = val_loss, 0, _cpu_state(model)
            history.best_epoch = epoch + 1
        else:
            bad_epochs += 1
        done = bad_epochs >= profile.patience or epoch + 1 == profile.max_epochs
        history.stop_reason = ("early stopping" if bad_epochs >= profile.patience
                               else "max epochs" if epoch + 1 == profile.max_epochs else "")
        out_of_time = max_seconds is not None and time.perf_counter() - t_call > max_seconds
        if out_of_time and not done:
            history.stop_reason = "time budget"
        if checkpoint_path:
            _save_checkpoint(checkpoint_path, {
                "model": _cpu_state(model), "optimizer": optimizer.state_dict(), "epoch": epoch + 1,
                "done": done, "history": history.to_dict(), "best_state": best_state,
                "best_val_loss": best_loss, "bad_epochs": bad_epochs, "rng_torch": torch.get_rng_state(),
                "seed": seed, "profile": _profile_dict(profile), "fingerprint": fingerprint})
        if on_epoch_end:
            on_epoch_end(epoch + 1, history)
        if done or out_of_time:
            break

    model.load_state_dict(best_state)
    model.eval()
    return history
