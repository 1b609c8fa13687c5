"""Class order, names and the catalogue mappings: the one place they are defined.

Every plot, table, label array and one-hot encoding in the repository takes its order from
``CLASSES``. (The earlier student reproduction used E, Sp, S0, Irr for its one-hot vectors and
E, S0, Sp, Irr for its plot labels, which silently swapped S0 and Sp.)
"""
from __future__ import annotations

import numpy as np

CLASSES = ("E", "S0", "Sp", "Irr+Misc")
CLASSES_3WAY = CLASSES[:3]
CLASS_INDEX = {name: i for i, name in enumerate(CLASSES)}
LONG_NAMES = {
    "E": "elliptical",
    "S0": "lenticular",
    "Sp": "spiral",
    "Irr+Misc": "irregular / peculiar / merger",
}

# Class counts of the paper's sample (Nair & Abraham 2010 as used by Cavanagh et al. 2021).
PAPER_COUNTS = {"E": 2723, "S0": 3215, "Sp": 7708, "Irr+Misc": 388}
PAPER_N = sum(PAPER_COUNTS.values())  # 14034

# Nair & Abraham (2010) T-types (their TType column). The catalogue uses -5 (E), -3, -2 (S0-, S0),
# -1 (S0+), 0 (S0/a), 1..9 (Sa..Sm), 10 (Im), 11, 12 (rarely used late-type codes) and 99 (unknown).
NA10_TTYPES = (-5, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 99)


def ttype_to_class(ttype: int) -> str:
    """Map one Nair & Abraham T-type to E / S0 / Sp / Irr+Misc.

    -5 -> E; -3..0 -> S0 (S0/a counted with the lenticulars, as the paper does); 1..9 -> Sp;
    10, 11, 12 and 99 -> Irr+Misc. Any value not in the catalogue's vocabulary raises, so that a
    corrupted or misread column cannot slip into a class.
    """
    t = int(ttype)
    if t != ttype or t not in NA10_TTYPES:
        raise ValueError(f"unknown Nair & Abraham T-type {ttype!r}; expected one of {NA10_TTYPES}")
    if t == -5:
        return "E"
    if -3 <= t <= 0:
        return "S0"
    if 1 <= t <= 9:
        return "Sp"
    return "Irr+Misc"


# Where one class ends and the next begins on the catalogue's T axis (E/S0, S0/Sp, Sp/Irr): midway between the
# last type of one class and the first of the next (-5 | -3, 0 | 1, 9 | 10).
T_BOUNDARIES = (-4.0, 0.5, 9.5)


def boundary_distance(ttypes) -> np.ndarray:
    """Distance (in T-types) of each T-type from the nearest class boundary (:data:`T_BOUNDARIES`); NaN for
    T = 99 (peculiar), which is not on the axis."""
    t = np.asarray(ttypes, dtype=float)
    d = np.min(np.abs(t[..., None] - np.array(T_BOUNDARIES)), axis=-1)
    return np.where(t == 99, np.nan, d)


def ttypes_to_labels(ttypes) -> np.ndarray:
    """Vectorised :func:`ttype_to_class`, returning integer labels in ``CLASSES`` order."""
    return np.array([CLASS_INDEX[ttype_to_class(t)] for t in np.asarray(ttypes).ravel()], dtype=np.int64)


def stratified_counts(n: int, proportions: dict[str, int] = PAPER_COUNTS) -> dict[str, int]:
    """Split ``n`` over the classes in the given proportions (largest remainder; exact at the paper's n)."""
    total = sum(proportions.values())
    raw = {c: n * k / total for c, k in proportions.items()}
    counts = {c: int(np.floor(v)) for c, v in raw.items()}
    for c in sorted(raw, key=lambda c: raw[c] - counts[c], reverse=True)[: n - sum(counts.values())]:
        counts[c] += 1
    return counts


def scheme_classes(scheme: str) -> tuple[str, ...]:
    """Classes of a classification scheme: '3way', '4way' or a pair such as 'E-vs-Sp'."""
    if scheme == "4way":
        return CLASSES
    if scheme == "3way":
        return CLASSES_3WAY
    if "-vs-" in scheme:
        pair = tuple(scheme.split("-vs-"))
        if len(pair) == 2 and all(c in CLASS_INDEX for c in pair):
            return pair
    raise ValueError(f"unknown scheme {scheme!r}: use '3way', '4way' or '<A>-vs-<B>' with A, B in {CLASSES}")


def relabel(labels: np.ndarray, scheme: str) -> tuple[np.ndarray, np.ndarray]:
    """Keep the galaxies of a scheme and renumber their labels 0..k-1 in the scheme's class order.

    Returns (mask over the input, new labels of the kept galaxies).
    """
    classes = scheme_classes(scheme)
    old = np.array([CLASS_INDEX[c] for c in classes])
    mask = np.isin(labels, old)
    lookup = np.full(len(CLASSES), -1, dtype=np.int64)
    lookup[old] = np.arange(len(classes))
    return mask, lookup[labels[mask]]


# Galaxy10 SDSS (astroNN) classes, 0..9.
GALAXY10_NAMES = (
    "Disk, face-on, no spiral",
    "Smooth, completely round",
    "Smooth, in-between round",
    "Smooth, cigar shaped",
    "Disk, edge-on, rounded bulge",
    "Disk, edge-on, boxy bulge",
    "Disk, edge-on, no bulge",
    "Disk, face-on, tight spiral",
    "Disk, face-on, medium spiral",
    "Disk, face-on, loose spiral",
)

# Galaxy10 class -> E / S0 / Sp / Irr+Misc (None: dropped), one tuple entry per Galaxy10 class 0..9.
GALAXY10_MAPPINGS = {
    # The earlier student reproduction's: smooth -> E, edge-on -> S0, face-on spirals -> Sp, and the
    # face-on disks without arms -> Irr+Misc (4-way) or Sp (3-way).
    "earlier-4way": ("Irr+Misc", "E", "E", "E", "S0", "S0", "S0", "Sp", "Sp", "Sp"),
    "earlier-3way": ("Sp", "E", "E", "E", "S0", "S0", "S0", "Sp", "Sp", "Sp"),
    # Ours (argued in notebook 04): a disk without arms is what a lenticular is; smooth and round or
    # in-between -> E; smooth cigars are too flat for ellipticals (none is flatter than E7, b/a 0.3),
    # so mostly edge-on S0s; edge-on disks with a bulge cannot be told S0 from Sa/Sb without the
    # arms -> dropped; edge-on disks without a bulge are late-type spirals. Galaxy10 SDSS has no
    # irregular, merger or peculiar class: no Irr+Misc, so this mapping is 3-way.
    "better-3way": ("S0", "E", "E", "S0", None, None, "Sp", "Sp", "Sp", "Sp"),
}


def galaxy10_classes(mapping: str) -> tuple[str, ...]:
    """The classes of a Galaxy10 mapping, in ``CLASSES`` order."""
    if mapping not in GALAXY10_MAPPINGS:
        raise ValueError(f"unknown Galaxy10 mapping {mapping!r}; choose one of {sorted(GALAXY10_MAPPINGS)}")
    used = set(GALAXY10_MAPPINGS[mapping]) - {None}
    return tuple(c for c in CLASSES if c in used)


def galaxy10_relabel(g10_labels, mapping: str) -> tuple[np.ndarray, np.ndarray]:
    """(mask of the kept galaxies, their labels 0..k-1 in the mapping's class order)."""
    classes = galaxy10_classes(mapping)
    lookup = np.array([classes.index(c) if c is not None else -1 for c in GALAXY10_MAPPINGS[mapping]])
    new = lookup[np.asarray(g10_labels, dtype=np.int64)]
    return new >= 0, new[new >= 0]
