"""Binary (2-way) classifiers and the hierarchical classifiers built from them (notebook 03).

The paper's second result: C2 trained on two classes at a time (E vs Sp above 98 %, Sp vs Irr 78 %),
and a hierarchical classifier assembled from binary networks (81 % 3-way, 65 % 4-way). The paper's
tree is not known, so several plausible ones are written down here as data (``TREES``), beside
one-vs-one voting over the pairwise networks.

Vocabulary
----------
A binary *scheme* names its two sides, each a group of classes joined by ``|`` in ``CLASSES``
order, side A holding the earliest class: ``'E-vs-Sp'`` (one of the six ``PAIRS``),
``'E|S0-vs-Sp'`` or ``'E|S0|Sp-vs-Irr+Misc'`` (a node that sets one class against "the rest").
A network of scheme ``'A-vs-B'`` is trained on the galaxies of both sides only, with label 0 for
side A and 1 for side B; its softmax column 1 is the probability of side B. All binary probabilities
are kept as ``{scheme: p_B}`` with one entry per galaxy, the form every combiner below takes.

Balancing
---------
:func:`balanced_indices` equalises the two sides of a training set by oversampling the smaller one
(and both, up to a minimum epoch size, :func:`min_per_side`): each of its galaxies is repeated as
many whole times as fit, and the remainder is drawn without replacement (seeded). Because the
training engine draws an independent random view (of 40) for every entry of an epoch, a repeated
galaxy is seen in different orientations and crops, not as identical copies. The validation set,
used only for early stopping, is balanced the same way (see :func:`train_binary`); the test set
never is.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np

from .classes import CLASS_INDEX, CLASSES

PAIRS = tuple(f"{a}-vs-{b}" for a, b in combinations(CLASSES, 2))  # the six 2-way classifiers


# ----------------------------------------------------------------------------- schemes

def side_name(side) -> str:
    """('E', 'S0') -> 'E|S0' (classes in CLASSES order)."""
    return "|".join(sorted(side, key=CLASS_INDEX.__getitem__))


def binary_scheme(side_a, side_b) -> str:
    """The canonical scheme name of two groups of classes, the group with the earliest class first."""
    a, b = (tuple(sorted(s, key=CLASS_INDEX.__getitem__)) for s in (side_a, side_b))
    if not a or not b or set(a) & set(b):
        raise ValueError(f"sides must be non-empty and disjoint: {a} / {b}")
    if CLASS_INDEX[b[0]] < CLASS_INDEX[a[0]]:
        a, b = b, a
    return f"{side_name(a)}-vs-{side_name(b)}"


def sides(scheme: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """'E|S0-vs-Sp' -> (('E', 'S0'), ('Sp',)); raises on an unknown class or a non-canonical name."""
    parts = scheme.split("-vs-")
    if len(parts) != 2:
        raise ValueError(f"not a binary scheme: {scheme!r} (expected '<A>-vs-<B>', groups joined by '|')")
    groups = tuple(tuple(p.split("|")) for p in parts)
    unknown = [c for g in groups for c in g if c not in CLASS_INDEX]
    if unknown:
        raise ValueError(f"{scheme!r}: unknown classes {unknown}; classes are {CLASSES}")
    if binary_scheme(*groups) != scheme:
        raise ValueError(f"{scheme!r} is not canonical; write it {binary_scheme(*groups)!r}")
    return groups


def slug(scheme: str) -> str:
    """A file-name-safe form of a scheme: 'E|S0-vs-Sp|Irr+Misc' -> 'E_S0-vs-Sp_IrrMisc'."""
    return scheme.replace("|", "_").replace("+", "")


def binary_labels(labels: np.ndarray, scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """(mask of the galaxies on either side, their labels: 0 side A, 1 side B)."""
    a, b = sides(scheme)
    labels = np.asarray(labels)
    in_a = np.isin(labels, [CLASS_INDEX[c] for c in a])
    in_b = np.isin(labels, [CLASS_INDEX[c] for c in b])
    mask = in_a | in_b
    return mask, in_b[mask].astype(np.int64)


# ----------------------------------------------------------------------------- training data

def balanced_indices(y: np.ndarray, seed: int = 0, min_per_side: int = 0) -> np.ndarray:
    """Indices into binary labels ``y`` in which both labels occur equally often.

    Each side is brought to ``max(n_large, min_per_side)`` entries: its galaxies are repeated whole
    as many times as fit and the remainder is drawn from them without replacement (so no galaxy is
    repeated more than once more than another of its side). With ``min_per_side`` = 0 every galaxy
    of the larger side appears exactly once. Sorted, seeded.
    """
    y = np.asarray(y)
    counts = np.bincount(y, minlength=2)
    if len(counts) != 2 or np.any(counts == 0):
        raise ValueError(f"balancing needs both labels 0 and 1 present; counts {counts.tolist()}")
    target = max(int(counts.max()), int(min_per_side))
    rng = np.random.default_rng(seed)
    parts = []
    for side in (0, 1):
        idx = np.flatnonzero(y == side)
        reps, extra = divmod(target, len(idx))
        parts += [np.tile(idx, reps), rng.choice(idx, extra, replace=False)]
    return np.sort(np.concatenate(parts))


def min_per_side(labels: np.ndarray, split: np.ndarray) -> int:
    """Half the number of training galaxies of the 3-way scheme: with it, every binary network takes
    at least as many optimiser steps per epoch as the direct 3-way C2 does.

    A pair with a small class (E or S0 against Irr+Misc: a few hundred galaxies in ``quick``) would
    otherwise take a dozen steps per epoch, and after a few epochs its batch-normalisation statistics
    are still far from settled, so that its validation loss, and with it early stopping, says little.
    """
    from .data import SPLITS
    labels, split = np.asarray(labels), np.asarray(split)
    n = int(np.sum((split == SPLITS.index("train")) & (labels != CLASS_INDEX["Irr+Misc"])))
    return (n + 1) // 2


def select(labels: np.ndarray, split: np.ndarray, scheme: str, part: str = "train", balance: bool = False,
           seed: int = 0, min_per_side: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(indices into the whole set, binary labels) of the galaxies of ``scheme`` in one split.

    ``part`` is 'train', 'val' or 'test' (codes 0, 1, 2). With ``balance`` (for training and early
    stopping, never for test metrics) both sides are oversampled by :func:`balanced_indices` to the
    same count (at least ``min_per_side``), so indices repeat.
    """
    from .data import SPLITS
    if part not in SPLITS:
        raise ValueError(f"unknown split {part!r}; use one of {SPLITS}")
    mask, y = binary_labels(labels, scheme)
    in_part = np.asarray(split)[mask] == SPLITS.index(part)
    idx, y = np.flatnonzero(mask)[in_part], y[in_part]
    if balance:
        keep = balanced_indices(y, seed, min_per_side)
        idx, y = idx[keep], y[keep]
    return idx, y


def side_priors(labels: np.ndarray, split: np.ndarray, scheme: str, part: str = "train") -> np.ndarray:
    """(fraction on side A, fraction on side B) of the galaxies of ``scheme`` in one split, unbalanced."""
    _, y = select(labels, split, scheme, part)
    return np.bincount(y, minlength=2) / len(y)


def restore_priors(p_b: np.ndarray, priors) -> np.ndarray:
    """Probability of side B from a network trained on balanced sides, re-weighted to priors (pi_A, pi_B).

    A network trained on equal numbers of each side estimates P(B | x) for a prior of 1/2; by Bayes'
    theorem the estimate for priors pi is p pi_B / (p pi_B + (1 - p) pi_A). Use the training set's
    natural proportions to compare with a network trained without balancing.
    """
    p_b = np.asarray(p_b, dtype=float)
    pi_a, pi_b = (float(v) for v in priors)
    num = p_b * pi_b
    return num / (num + (1 - p_b) * pi_a)


# ----------------------------------------------------------------------------- trees

@dataclass(frozen=True)
class Node:
    """A binary network (``network``, a scheme name) and what follows each of its answers:
    ``a`` for side A and ``b`` for side B, each a class name (a leaf) or another Node."""
    network: str
    a: "Node | str"
    b: "Node | str"

    def __post_init__(self):
        side_a, side_b = sides(self.network)
        for side, child in ((side_a, self.a), (side_b, self.b)):
            if set(leaves(child)) != set(side):
                raise ValueError(f"{self.network}: the branch for {side_name(side)} leads to "
                                 f"{side_name(leaves(child))}; they must be the same classes")


def leaves(tree) -> tuple[str, ...]:
    """The classes a tree (or a leaf) can answer, in CLASSES order."""
    if isinstance(tree, str):
        if tree not in CLASS_INDEX:
            raise ValueError(f"unknown class {tree!r}; classes are {CLASSES}")
        return (tree,)
    return tuple(sorted(leaves(tree.a) + leaves(tree.b), key=CLASS_INDEX.__getitem__))


def networks(tree) -> tuple[str, ...]:
    """The binary networks a tree uses, root first (depth first, side A before side B)."""
    if isinstance(tree, str):
        return ()
    return (tree.network,) + networks(tree.a) + networks(tree.b)


def describe(tree, indent: str = "") -> str:
    """The tree as indented text, one network per line."""
    if isinstance(tree, str):
        return f"{indent}-> {tree}\n"
    a, b = sides(tree.network)
    return (f"{indent}{tree.network}\n"
            f"{indent}  if {side_name(a)}:\n{describe(tree.a, indent + '    ')}"
            f"{indent}  if {side_name(b)}:\n{describe(tree.b, indent + '    ')}")


# Plausible trees (the paper's is not known). 3-way trees cover E, S0, Sp; 4-way trees add Irr+Misc.
TREES: dict[str, dict[str, Node]] = {
    "3way": {
        # Early type (E or S0) or late type (Sp) first, the easiest split; then E against S0.
        "early-late": Node("E|S0-vs-Sp", Node("E-vs-S0", "E", "S0"), "Sp"),
        # Ellipticals first (smooth and round against everything with a disk); then S0 against Sp.
        "E-first": Node("E-vs-S0|Sp", "E", Node("S0-vs-Sp", "S0", "Sp")),
    },
    "4way": {
        # Early against late (Irr+Misc counted late), then E vs S0 and Sp vs Irr+Misc.
        "early-late": Node("E|S0-vs-Sp|Irr+Misc", Node("E-vs-S0", "E", "S0"),
                           Node("Sp-vs-Irr+Misc", "Sp", "Irr+Misc")),
        # The rare odd class peeled off first, then the 3-way early-late tree.
        "Irr-first": Node("E|S0|Sp-vs-Irr+Misc",
                          Node("E|S0-vs-Sp", Node("E-vs-S0", "E", "S0"), "Sp"), "Irr+Misc"),
    },
}


def all_networks(trees=TREES) -> tuple[str, ...]:
    """The six pairs, then every other network the trees need, each once."""
    extra = [n for per_scheme in trees.values() for t in per_scheme.values() for n in networks(t)]
    return tuple(dict.fromkeys(list(PAIRS) + extra))


def _check_classes(tree, classes) -> None:
    if set(leaves(tree)) != set(classes):
        raise ValueError(f"the tree answers {leaves(tree)}, the scheme has classes {tuple(classes)}")


def tree_predict(tree, p_b: dict, classes) -> np.ndarray:
    """Hard decisions down the tree: at each node go to side B when p_B > 0.5 (a tie goes to A).

    ``p_b`` maps each network's scheme to its probability of side B, one entry per galaxy.
    Returns labels 0..k-1 in ``classes`` order.
    """
    _check_classes(tree, classes)
    n = len(next(iter(p_b.values())))
    out = np.empty(n, dtype=np.int64)

    def walk(node, rows):
        if isinstance(node, str):
            out[rows] = list(classes).index(node)
            return
        go_b = np.asarray(p_b[node.network])[rows] > 0.5
        walk(node.a, rows[~go_b])
        walk(node.b, rows[go_b])

    walk(tree, np.arange(n))
    return out


def tree_proba(tree, p_b: dict, classes) -> np.ndarray:
    """Soft version: P(class) = product of the branch probabilities on the path to it, (N, k).

    Rows sum to 1. Its argmax may differ from :func:`tree_predict` (a confident second node can
    outweigh an unsure first one).
    """
    _check_classes(tree, classes)
    n = len(next(iter(p_b.values())))
    out = np.zeros((n, len(classes)))

    def walk(node, weight):
        if isinstance(node, str):
            out[:, list(classes).index(node)] = weight
            return
        p = np.asarray(p_b[node.network], dtype=float)
        walk(node.a, weight * (1 - p))
        walk(node.b, weight * p)

    walk(tree, np.ones(n))
    return out


def ovo_votes(p_b: dict, classes) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-one voting over the pairwise networks of ``classes``: (votes (N, k), summed probability (N, k)).

    Each pair 'A-vs-B' gives its vote to B when p_B > 0.5, else to A; the summed probability of a
    class is the total probability the pairwise networks give it (for ties).
    """
    classes = list(classes)
    n = len(next(iter(p_b.values())))
    votes, score = np.zeros((n, len(classes)), dtype=np.int64), np.zeros((n, len(classes)))
    for a, b in combinations(sorted(classes, key=CLASS_INDEX.__getitem__), 2):
        p = np.asarray(p_b[f"{a}-vs-{b}"], dtype=float)
        ia, ib = classes.index(a), classes.index(b)
        votes[:, ib] += p > 0.5
        votes[:, ia] += p <= 0.5
        score[:, ib] += p
        score[:, ia] += 1 - p
    return votes, score


def ovo_predict(p_b: dict, classes) -> np.ndarray:
    """The class with most votes; a tie goes to the tied class with the larger summed probability,
    and a remaining tie to the class that comes first in ``classes`` (deterministic)."""
    votes, score = ovo_votes(p_b, classes)
    best = votes == votes.max(1, keepdims=True)
    score = np.where(best, score, -np.inf)
    return np.argmax(score == score.max(1, keepdims=True), axis=1)  # argmax: first of equal maxima


# ----------------------------------------------------------------------------- training and prediction

def checkpoint_path(root, dataset: str, profile, scheme: str, seed: int) -> Path:
    """Where a C2 of ``scheme`` is checkpointed.

    '3way' and '4way' get notebook 02's name (``{dataset}_{profile}_C2_{scheme}_seed{seed}.pt``), so
    its finished networks are reused. A binary scheme is made file-safe and the profile's epoch cap
    is added (``..._C2_E_S0-vs-Sp_max6ep_seed0.pt``): a run with another cap trains its own network
    instead of tripping over a checkpoint written for other settings.
    """
    if scheme in ("3way", "4way"):
        from .experiment import checkpoint_path as direct_path
        return direct_path(dataset, profile, "C2", scheme, seed, root)
    return Path(root) / "checkpoints" / f"{dataset}_{profile.name}_C2_{slug(scheme)}_max{profile.max_epochs}ep_seed{seed}.pt"


def fit_c2(x_train, y_train, x_val, y_val, n_classes: int, profile, seed: int, checkpoint=None,
           progress: bool = False):
    """Seed, build C2 for ``n_classes`` and train it (resuming or reusing ``checkpoint``): (model, history)."""
    from . import models_torch, train
    train.seed_everything(seed)
    model = models_torch.build_model("C2", n_classes, profile.input_size)
    history = train.fit(model, x_train, y_train, x_val, y_val, profile, seed, checkpoint_path=checkpoint,
                        progress=progress)
    return model, history


@dataclass
class Fit:
    """A trained network and what it was trained on."""
    model: object            # C2, best epoch's weights restored, in eval mode
    history: object          # train.History
    train_idx: np.ndarray    # training entries of an epoch: indices into the whole set (repeats when balanced)

    @property
    def n_train(self) -> int:
        """Distinct training galaxies."""
        return len(np.unique(self.train_idx))

    @property
    def n_train_balanced(self) -> int:
        """Training entries per epoch (after oversampling, if any)."""
        return len(self.train_idx)


def train_binary(scheme: str, images, labels, split, profile, seed: int, checkpoint=None,
                 progress: bool = False, min_per_side: int = 0) -> Fit:
    """Train one binary C2 on the galaxies of ``scheme``, both sides equally weighted.

    The training set is balanced by oversampling (:func:`balanced_indices`, seeded by ``seed``):
    the smaller side up to the larger, and both up to ``min_per_side`` entries if that is more (see
    :func:`min_per_side`). The validation set, which only serves early stopping, is balanced too
    (without a minimum): validation uses the centre view, so repeating a galaxy there is the same as
    weighting it, and the validation loss then measures what training optimises, as ``train.fit``
    does for class weights. Otherwise a handful of Irr+Misc galaxies would weigh almost nothing in
    the validation loss. The test set is never balanced.
    """
    tr, y_tr = select(labels, split, scheme, "train", balance=True, seed=seed, min_per_side=min_per_side)
    va, y_va = select(labels, split, scheme, "val", balance=True, seed=seed)
    model, history = fit_c2(images[tr], y_tr, images[va], y_va, 2, profile, seed, checkpoint, progress)
    return Fit(model, history, tr)


def train_direct(scheme: str, images, labels, split, profile, seed: int, checkpoint=None,
                 progress: bool = False) -> Fit:
    """The direct '3way' or '4way' C2 exactly as notebook 02 trains it (no balancing), so that with
    notebook 02's checkpoint path (:func:`checkpoint_path`) a finished network is reused."""
    from .classes import relabel
    from .data import SPLITS
    mask, y = relabel(np.asarray(labels), scheme)
    part, x = np.asarray(split)[mask], images[mask]
    tr, va = part == SPLITS.index("train"), part == SPLITS.index("val")
    model, history = fit_c2(x[tr], y[tr], x[va], y[va], int(y.max()) + 1, profile, seed, checkpoint, progress)
    return Fit(model, history, np.flatnonzero(mask)[tr])


def take(p_b: dict, idx) -> dict:
    """The entries ``idx`` of every network's probabilities."""
    return {scheme: np.asarray(p)[idx] for scheme, p in p_b.items()}


def with_priors(p_b: dict, labels, split) -> dict:
    """Every network's probabilities re-weighted (:func:`restore_priors`) to the natural proportions
    of its two sides among the training galaxies, i.e. as if it had been trained without balancing."""
    return {scheme: restore_priors(p, side_priors(labels, split, scheme)) for scheme, p in p_b.items()}


def ovo_networks(classes) -> tuple[str, ...]:
    """The pairwise networks one-vs-one voting over ``classes`` needs."""
    return tuple(f"{a}-vs-{b}" for a, b in combinations(sorted(classes, key=CLASS_INDEX.__getitem__), 2))


def combined_predictions(scheme: str, p_b: dict, trees=TREES) -> dict:
    """Every way of answering '3way' or '4way' from binary networks, for the galaxies of ``p_b``.

    Returns {model name: (hard predictions, networks used, soft-rule predictions or None)}, with
    names 'hierarchical-<tree>' for each tree of ``trees[scheme]`` and 'ovo-voting'.
    """
    from .classes import scheme_classes
    classes = scheme_classes(scheme)
    out = {}
    for name, tree in trees[scheme].items():
        out[f"hierarchical-{name}"] = (tree_predict(tree, p_b, classes), networks(tree),
                                       tree_proba(tree, p_b, classes).argmax(1))
    out["ovo-voting"] = (ovo_predict(p_b, classes), ovo_networks(classes), None)
    return out


def roc(y_true, score) -> tuple[np.ndarray, np.ndarray, float]:
    """(false-positive rate, true-positive rate, area under the curve), label 1 the positive class."""
    from sklearn.metrics import roc_auc_score, roc_curve
    fpr, tpr, _ = roc_curve(y_true, score)
    return fpr, tpr, float(roc_auc_score(y_true, score))


def balanced_accuracy_ci(confusion, n: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the balanced accuracy from a confusion matrix (rows true),
    resampling test galaxies: with 13 Irr+Misc test galaxies one galaxy moves a recall by 8 points."""
    from .evaluate import bootstrap_ci
    cm = np.asarray(confusion, dtype=np.int64)
    k = len(cm)
    y_true = np.repeat(np.arange(k), cm.sum(1))
    y_pred = np.concatenate([np.repeat(np.arange(k), row) for row in cm])

    def balanced(t, p):
        present = np.unique(t)
        return float(np.mean([np.mean(p[t == c] == c) for c in present]))

    return bootstrap_ci(y_true, y_pred, stat=balanced, n=n, seed=seed, level=level)


def pairwise_matrix(values: dict, classes=CLASSES) -> np.ndarray:
    """A symmetric (k, k) matrix from {'A-vs-B': value}; NaN on the diagonal and for missing pairs."""
    m = np.full((len(classes), len(classes)), np.nan)
    for scheme, v in values.items():
        a, b = sides(scheme)
        if len(a) == 1 and len(b) == 1 and a[0] in classes and b[0] in classes:
            i, j = list(classes).index(a[0]), list(classes).index(b[0])
            m[i, j] = m[j, i] = v
    return m


def pair_classes(scheme: str) -> tuple[str, str]:
    """The two class names of a record of a binary scheme (groups written with '|')."""
    a, b = sides(scheme)
    return side_name(a), side_name(b)


def scheme_test_set(labels, split, scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """(indices, labels 0..k-1) of the test galaxies of '3way' or '4way', as notebook 02 evaluates them."""
    from .classes import relabel
    from .data import SPLITS
    mask, y = relabel(np.asarray(labels), scheme)
    test = np.asarray(split)[mask] == SPLITS.index("test")
    return np.flatnonzero(mask)[test], y[test]

