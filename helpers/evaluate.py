"""Predictions, metrics, bootstrap intervals and the ``results/<topic>.json`` records.

A record is one (model, scheme, dataset, profile, seed); ``write_results`` replaces a record with
the same key and keeps the others, so notebooks can be rerun one model at a time and the README
table and slides (built from these files) always see one number per configuration.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from . import data
from .train import Profile, autocast, make_batch, memory_format, resident

RECORD_KEY = ("model", "scheme", "dataset", "profile", "seed")
# Records measured on mock sets of different generator versions are different measurements: both are kept.
VERSION_FIELD = "generator_version"


# ----------------------------------------------------------------------------- predictions

@torch.no_grad()
def predict_proba(model: nn.Module, images: np.ndarray, input_size: int, tta: bool = False,
                  batch: int = 256, batch_fn=make_batch) -> np.ndarray:
    """Softmax probabilities (N, k) for normalised (N, 110, 110) stamps.

    Without ``tta`` the centre view is classified (as in validation). With ``tta`` the softmax is
    averaged over all 40 views, the same crops, rotations and mirrors seen in training: a galaxy's
    class does not depend on its orientation, so averaging removes some view-to-view noise.
    """
    dev = next(model.parameters()).device
    fmt = memory_format(dev)
    was_training = model.training
    model.eval()
    views = range(data.N_VIEWS) if tta else (data.CENTRE_VIEW,)
    source = resident(images, dev) if batch_fn is make_batch else images
    out = None
    try:
        for v in views:
            parts = []
            for start in range(0, len(images), batch):
                idx = np.arange(start, min(start + batch, len(images)))
                x = batch_fn(source, idx, v, input_size).to(dev, memory_format=fmt)
                with autocast(dev):
                    logits = model(x)
                parts.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
            p = np.concatenate(parts).astype(np.float64)
            out = p if out is None else out + p
    finally:
        model.train(was_training)
    return out / len(views)


# ----------------------------------------------------------------------------- metrics

def accuracy(y_true, y_pred) -> float:
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def confusion(y_true, y_pred, k: int) -> np.ndarray:
    """Counts (k, k): rows the true class, columns the predicted one."""
    return np.bincount(np.asarray(y_true) * k + np.asarray(y_pred), minlength=k * k).reshape(k, k)


def metrics(y_true, y_pred, classes) -> dict:
    """Accuracy, balanced accuracy, macro F1, per-class precision/recall/F1/support, confusion.

    balanced_accuracy is the mean recall over the classes present in ``y_true``; macro_f1 the mean
    F1 over the classes present in ``y_true`` or ``y_pred`` (scikit-learn's conventions). A ratio
    with a zero denominator (a class never predicted, or never true) is 0, not NaN, so the JSON stays
    valid; in the normalised confusion such a row is all zeros.
    """
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    k = len(classes)
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    if len(y_true) and (min(y_true.min(), y_pred.min()) < 0 or max(y_true.max(), y_pred.max()) >= k):
        raise ValueError(f"labels outside 0..{k - 1} for classes {list(classes)}")
    cm = confusion(y_true, y_pred, k)
    tp, support, predicted = np.diag(cm), cm.sum(1), cm.sum(0)
    div = lambda a, b: np.divide(a, b, out=np.zeros(np.shape(a), dtype=float), where=np.asarray(b) > 0)
    precision, recall = div(tp, predicted), div(tp, support)
    f1 = div(2 * precision * recall, precision + recall)
    seen = (support > 0) | (predicted > 0)
    return {
        "accuracy": accuracy(y_true, y_pred) if len(y_true) else 0.0,
        "balanced_accuracy": float(recall[support > 0].mean()) if support.any() else 0.0,
        "macro_f1": float(f1[seen].mean()) if seen.any() else 0.0,
        "per_class": {c: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                          "support": int(support[i])} for i, c in enumerate(classes)},
        "confusion": cm.tolist(),
        "confusion_normalised": div(cm, support[:, None]).tolist(),
    }


def bootstrap_ci(y_true, y_pred, stat: Callable = accuracy, n: int = 1000, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``stat(y_true, y_pred)``, resampling test galaxies with
    replacement: the uncertainty that comes from the finite test set (not from training)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(y_true), size=(n, len(y_true)))
    values = np.array([stat(y_true[i], y_pred[i]) for i in idx])
    lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def wilson_ci(k, n, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion k / n (a recall or an accuracy from confusion counts)."""
    from scipy.stats import norm
    if n == 0:
        return 0.0, 1.0
    z, p = norm.ppf((1 + level) / 2), k / n
    centre, half = (p + z * z / (2 * n)), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float((centre - half) / (1 + z * z / n)), float((centre + half) / (1 + z * z / n))


# ----------------------------------------------------------------------------- records

def _plain(x):
    """numpy scalars/arrays, tuples and paths -> JSON types (NaN is refused later by json.dumps)."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return _plain(x.tolist())
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, Path):
        return str(x)
    return x


def record(model_name: str, scheme: str, dataset: str, profile, seed: int, y_true, y_pred, classes,
           n_train: int, epochs: int, train_seconds: float, **extra) -> dict:
    """One results record (plain Python types), with the test metrics and a bootstrap 95 % interval
    of the accuracy. ``profile`` is a :class:`Profile` or its name; ``extra`` adds fields (e.g.
    ``tta=True``, ``best_epoch``, ``history``)."""
    m = metrics(y_true, y_pred, classes)
    rec = {
        "model": model_name, "scheme": scheme, "dataset": dataset,
        "profile": profile.name if isinstance(profile, Profile) else str(profile), "seed": int(seed),
        "n_train": int(n_train), "n_test": int(len(y_true)),
        "accuracy": m["accuracy"], "accuracy_ci95": list(bootstrap_ci(y_true, y_pred)),
        "balanced_accuracy": m["balanced_accuracy"], "macro_f1": m["macro_f1"],
        "per_class": m["per_class"], "confusion": m["confusion"],
        "confusion_normalised": m["confusion_normalised"], "classes": list(classes),
        "epochs": int(epochs), "train_seconds": round(float(train_seconds), 1),
    }
    rec.update(extra)
    return _plain(rec)


def _sort_key(r: dict):
    """Key fields as text, the seed as a number (so seed 10 sorts after seed 2)."""
    seed = r.get("seed")
    number = isinstance(seed, (int, float))
    return (*(str(r.get(k)) for k in RECORD_KEY[:-1]), number, seed if number else str(seed), str(r.get(VERSION_FIELD)))


def write_results(topic: str, records, results_dir=None) -> Path:
    """Merge ``records`` into ``<results_dir>/<topic>.json`` (default ``data.RESULTS_DIR``, i.e.
    ``results/`` in the repository): a record with the same (model, scheme, dataset, profile, seed) and
    mock generator version (``generator_version``, where recorded) replaces the stored one, the others stay.
    Sorted by that key and written atomically."""
    results_dir = Path(results_dir) if results_dir is not None else data.RESULTS_DIR
    path = results_dir / f"{topic}.json"
    records = [_plain(r) for r in ([records] if isinstance(records, dict) else records)]
    for r in records:
        missing = [k for k in RECORD_KEY if k not in r]
        if missing:
            raise ValueError(f"record for {path} lacks {missing}: {str(r)[:200]}")
    stored = read_records(path)
    key = lambda r: tuple(json.dumps(r.get(k)) for k in (*RECORD_KEY, VERSION_FIELD))
    merged = {key(r): r for r in stored}
    merged.update({key(r): r for r in records})
    return write_json(path, sorted(merged.values(), key=_sort_key))


def read_records(path) -> list[dict]:
    """The JSON list of records in ``path``; [] when it does not exist, a clear error when it is not a list."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        records = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e}); fix or delete it, or rerun what writes it") from e
    if not isinstance(records, list):
        raise ValueError(f"{path}: expected a JSON list of records, found {type(records).__name__}")
    return records


def write_json(path, obj) -> Path:
    """Write ``obj`` as JSON to ``<path>.tmp``, then rename: a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(obj, indent=1, allow_nan=False) + "\n")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
