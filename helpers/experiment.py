"""One training run, end to end: train a network on a scheme, test it, and write its record.

Notebook 02 calls :func:`run` for every (model, scheme, seed); the command line does the same
without Jupyter, which is how the `paper` profile runs on a GPU machine, several seeds side by side:

    PROFILE=paper python -m helpers.experiment --models C2 --schemes 3way,4way --seeds 0 \\
        --max-minutes 30 --histories results/pytorch_paper_histories.json

Records are merged into ``results/pytorch.json`` (``evaluate.write_results``); the learning curves,
too long for a record, go to the ``--histories`` file, keyed like notebook 02's plots.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from . import data, evaluate, models_torch, prepare, train
from .classes import relabel, scheme_classes


def checkpoint_path(dataset: str, profile: train.Profile, model: str, scheme: str, seed: int, root=None) -> Path:
    """``<root>/checkpoints/{dataset}_{profile}_{model}_{scheme}_seed{seed}.pt``; root defaults to where
    the notebooks write (``data.OUTPUT_DIR``: the repository, or a test run's own folder)."""
    return Path(root or data.OUTPUT_DIR) / "checkpoints" / f"{dataset}_{profile.name}_{model}_{scheme}_seed{seed}.pt"


def run(model_name: str, scheme: str, images: np.ndarray, labels: np.ndarray, split: np.ndarray,
        profile: train.Profile, seed: int, dataset: str, progress: bool = False,
        max_seconds: float | None = None, true_labels: np.ndarray | None = None,
        generator_version: int | None = None) -> tuple[dict, train.History]:
    """Train ``model_name`` on ``scheme`` (normalised ``images``, 4-class ``labels``, ``split`` codes),
    checkpointed and resumable, then test it on the centre view and with test-time augmentation.
    With ``true_labels`` (a mock set's :meth:`data.GalaxySet.true_labels`) the record also holds the
    accuracy against what the galaxies are (:func:`truth_fields`), and ``generator_version`` (a mock set's
    ``attrs``) says which mock it was measured on. Returns (record, history)."""
    classes = scheme_classes(scheme)
    mask, y = relabel(labels, scheme)
    part, x = split[mask], images[mask]
    tr, va, te = (part == data.SPLITS.index(s) for s in data.SPLITS)
    train.seed_everything(seed)
    model = models_torch.build_model(model_name, len(classes), profile.input_size)
    hist = train.fit(model, x[tr], y[tr], x[va], y[va], profile, seed, progress=progress, max_seconds=max_seconds,
                     checkpoint_path=checkpoint_path(dataset, profile, model_name, scheme, seed))
    pred = evaluate.predict_proba(model, x[te], profile.input_size).argmax(1)
    pred_tta = evaluate.predict_proba(model, x[te], profile.input_size, tta=True).argmax(1)
    rec = evaluate.record(model_name, scheme, dataset, profile.name, seed, y[te], pred, classes,
                          n_train=int(tr.sum()), epochs=hist.stopped_epoch, train_seconds=hist.train_seconds,
                          accuracy_tta=float(np.mean(pred_tta == y[te])), best_epoch=hist.best_epoch,
                          stop_reason=hist.stop_reason, input_size=profile.input_size,
                          device=train.device_name())
    if true_labels is not None:
        rec.update(truth_fields(y[te], pred, true_labels[mask][te], classes))
    if generator_version is not None:
        rec["generator_version"] = int(generator_version)
    return rec, hist


def truth_fields(y_catalogue: np.ndarray, pred: np.ndarray, true_labels: np.ndarray, classes) -> dict:
    """Against what the test galaxies are (``true_labels``, CLASSES order) rather than what the catalogue
    calls them (``y_catalogue``, scheme order): ``accuracy_true``, the network's accuracy; ``label_agreement``,
    the catalogue's own, the ceiling its scatter sets on ``accuracy`` for a network that sees the truth;
    ``confusion_true`` (rows what the galaxies are, in ``classes``; a galaxy that is none of them is left
    out of it and counts as wrong in both accuracies)."""
    from .classes import CLASS_INDEX
    scheme_index = {CLASS_INDEX[c]: k for k, c in enumerate(classes)}
    truth = np.array([scheme_index.get(int(t), -1) for t in true_labels])
    inside = truth >= 0
    return {"accuracy_true": float(np.mean(pred == truth)), "label_agreement": float(np.mean(y_catalogue == truth)),
            "confusion_true": evaluate.confusion(truth[inside], pred[inside], len(classes)).tolist()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Train and test networks; merge their records into results/pytorch.json.")
    ap.add_argument("--models", default="C2", help="comma-separated, e.g. C1,C2")
    ap.add_argument("--schemes", default="3way,4way")
    ap.add_argument("--seeds", default=None, help="comma-separated; default the profile's seeds")
    ap.add_argument("--max-minutes", type=float, default=None, help="wall-clock budget of each training")
    ap.add_argument("--histories", type=Path, default=None, help="JSON file to merge the learning curves into")
    ap.add_argument("--progress", action="store_true")
    args = ap.parse_args(argv)
    dataset, prof = os.environ.get("DATASET", "mock"), train.profile()
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else list(prof.seeds)
    galaxies = prepare.dataset(dataset, prof, progress=args.progress)
    images = data.normalise(galaxies.images)
    data.check_no_leakage(galaxies.galaxy_id, galaxies.split)
    for scheme in args.schemes.split(","):
        for name in args.models.split(","):
            for seed in seeds:
                rec, hist = run(name, scheme, images, galaxies.labels, galaxies.split, prof, seed, dataset,
                                progress=args.progress,
                                max_seconds=None if args.max_minutes is None else 60 * args.max_minutes,
                                true_labels=galaxies.true_labels(),
                                generator_version=galaxies.attrs.get("generator_version"))
                evaluate.write_results("pytorch", [rec])
                if args.histories:
                    merge_histories(args.histories, {f"{name} {scheme} seed {seed}": hist.to_dict()})
                truth = f", true classes {rec['accuracy_true']:.3f}, labels {rec['label_agreement']:.3f}" if "accuracy_true" in rec else ""
                print(f"{name} {scheme} seed {seed}: test accuracy {rec['accuracy']:.3f} (TTA {rec['accuracy_tta']:.3f}{truth}), "
                      f"{rec['epochs']} epochs ({rec['stop_reason']}, best {rec['best_epoch']}) in "
                      f"{rec['train_seconds']:.0f} s on {rec['device']}", flush=True)
    return 0


def merge_histories(path: Path, histories: dict) -> None:
    """Add or replace learning curves in a JSON file {label: History.to_dict()}, written atomically."""
    path = Path(path)
    old = json.loads(path.read_text()) if path.exists() else {}
    evaluate.write_json(path, {**old, **histories})


if __name__ == "__main__":
    raise SystemExit(main())
