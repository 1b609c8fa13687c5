"""The one on-disk format (HDF5), the split by galaxy, the 40 augmented views, pixel scaling.

File layout (the mock and the real SDSS sets alike)::

    /images     float32 (N, 110, 110)  sky-subtracted g-band flux, nanomaggies per pixel
    /labels     int8    (N,)           index into helpers.classes.CLASSES
    /galaxy_id  int64   (N,)           catalogue or mock id, unique
    /split      uint8   (N,)           0 train, 1 validation, 2 test (see SPLITS)
    /meta       compound (N,)          per-galaxy parameters (physical and observational)
    attrs: classes, pixel_scale_arcsec, band, source, seed, and whatever the writer records

Every dataset is chunked with HDF5's Fletcher-32 checksum (:func:`write_dataset`): HDF5 checks each
chunk on every read, so bytes that changed on disk give a :class:`DataFileError` (:func:`read_dataset`),
never other pixels. A set written before checksums were stored still loads, unverified.

The augmented views are never stored: 40 views of 14034 galaxies as float32 would take 22 GB.
A view is an index 0..39 decoded by :func:`view`, applied when a batch is made.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from .classes import CLASSES, ttypes_to_labels

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("GALAXY_DATA_DIR", ROOT / "data"))
# Where notebooks write figures/ and results/: the repository, or elsewhere for test runs (make nbval).
OUTPUT_DIR = Path(os.environ.get("GALAXY_OUTPUT_DIR", ROOT))
FIGURES_DIR, RESULTS_DIR = OUTPUT_DIR / "figures", OUTPUT_DIR / "results"
MOCK_SEED = 42  # the mock set's seed (training seeds are separate)
STAMP = 110   # stored cutout size, pixels
CROP = 100    # network input size, pixels (the paper's 100x100)
SPLITS = ("train", "val", "test")
N_VIEWS = 40  # 5 crops x 4 rotations x 2 mirrors
REQUIRED = ("images", "labels", "galaxy_id", "split", "meta")


class DataFileError(ValueError):
    """A data file that is missing, truncated, altered on disk or not in the expected format."""


REMEDY = "delete it and run `make data` again (`make data DATASET=sdss` for the real set)"


@dataclass
class GalaxySet:
    images: np.ndarray      # (N, H, W) float32
    labels: np.ndarray      # (N,) int64, CLASSES order
    galaxy_id: np.ndarray   # (N,) int64
    split: np.ndarray       # (N,) uint8, 0/1/2
    meta: np.ndarray        # structured (N,)
    attrs: dict

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, mask) -> "GalaxySet":
        return GalaxySet(self.images[mask], self.labels[mask], self.galaxy_id[mask],
                         self.split[mask], self.meta[mask], dict(self.attrs))

    def stratified_sample(self, n: int, seed: int = 0) -> "GalaxySet":
        """n galaxies in the class proportions of the set, keeping each galaxy's split."""
        if n >= len(self):
            return self
        from sklearn.model_selection import train_test_split
        keep, _ = train_test_split(np.arange(len(self)), train_size=n, stratify=self.labels, random_state=seed)
        return self.subset(np.sort(keep))

    def true_labels(self) -> np.ndarray | None:
        """What each galaxy is (CLASSES order), where ``labels`` are a catalogue's reading of it: a mock set's
        ``ttype_true`` (``helpers.mock.LabelModel``); None for a real set, whose truth nobody knows."""
        if "ttype_true" not in (self.meta.dtype.names or ()):
            return None
        return ttypes_to_labels(self.meta["ttype_true"])

    def part(self, name: str) -> "GalaxySet":
        """The galaxies of one split: 'train', 'val' or 'test'."""
        return self.subset(self.split == SPLITS.index(name))


def mock_path(n: int, seed: int) -> Path:
    """Where the mock set of n galaxies made with ``seed`` is cached."""
    return DATA_DIR / "processed" / f"mock_n{n}_seed{seed}.h5"


SDSS_PATH = DATA_DIR / "processed" / "sdss.h5"


# ----------------------------------------------------------------------------- splitting

def split_by_galaxy(labels, test_frac: float = 0.15, val_frac: float = 0.15, seed: int = 0) -> np.ndarray:
    """Split codes (0 train, 1 val, 2 test) per galaxy, stratified by class, before any augmentation.

    ``test_frac`` of all galaxies go to test; ``val_frac`` of the rest to validation.
    """
    # imported here: scikit-learn takes a second to import, which every GalSim worker process paid
    from sklearn.model_selection import train_test_split
    labels = np.asarray(labels)
    idx = np.arange(len(labels))
    rest, test = train_test_split(idx, test_size=test_frac, stratify=labels, random_state=seed)
    train, val = train_test_split(rest, test_size=val_frac, stratify=labels[rest], random_state=seed + 1)
    split = np.empty(len(labels), dtype=np.uint8)
    split[train], split[val], split[test] = 0, 1, 2
    return split


def check_no_leakage(galaxy_id, split) -> None:
    """Raise if any galaxy id appears in more than one split."""
    parts = [set(np.asarray(galaxy_id)[np.asarray(split) == k].tolist()) for k in range(len(SPLITS))]
    for a in range(len(parts)):
        for b in range(a + 1, len(parts)):
            shared = parts[a] & parts[b]
            if shared:
                raise AssertionError(f"{len(shared)} galaxies in both {SPLITS[a]} and {SPLITS[b]}, "
                                     f"e.g. {sorted(shared)[:5]}")


# ----------------------------------------------------------------------------- HDF5 I/O

def write_dataset(f: h5py.File, name: str, array, chunks=True) -> None:
    """Write one dataset of a set, chunked, with a Fletcher-32 checksum of every chunk."""
    f.create_dataset(name, data=array, chunks=chunks, fletcher32=True)


def read_dataset(f: h5py.File, name: str, error=DataFileError, remedy: str = REMEDY) -> np.ndarray:
    """Read one whole dataset; a chunk whose checksum fails becomes ``error`` naming the file and the remedy."""
    dset = f[name]
    try:
        return dset[:]
    except OSError as e:
        if dset.fletcher32:  # the only filter the sets use: its failure is a checksum mismatch
            raise error(f"{f.filename}: dataset '{name}' fails its Fletcher-32 checksum (its bytes changed after "
                        f"it was written: a disk or copy error); {remedy}") from e
        raise


def _non_finite(images: np.ndarray) -> str:
    """What is wrong with stamps that hold NaN or infinite pixels ('' if none do)."""
    bad = np.flatnonzero(~np.isfinite(images).all(axis=(1, 2)))
    return f"{len(bad)} images hold NaN or infinite pixels (first indices {bad[:5].tolist()})" if len(bad) else ""


def save(path, images, labels, galaxy_id, split, meta, **attrs) -> Path:
    """Write a set atomically: to ``<path>.tmp`` first, renamed only when complete."""
    path = Path(path)
    images = np.asarray(images)
    n = len(images)
    if images.ndim != 3 or images.shape[1:] != (STAMP, STAMP):
        raise ValueError(f"{path}: images must have shape (N, {STAMP}, {STAMP}), got {images.shape}")
    for name, arr in (("labels", labels), ("galaxy_id", galaxy_id), ("split", split), ("meta", meta)):
        if len(arr) != n:
            raise ValueError(f"{path}: {name} has {len(arr)} entries for {n} images")
    if np.any((np.asarray(labels) < 0) | (np.asarray(labels) >= len(CLASSES))):
        raise ValueError(f"{path}: labels outside 0..{len(CLASSES) - 1}")
    if len(np.unique(galaxy_id)) != n:
        raise ValueError(f"{path}: galaxy ids are not unique")
    if wrong := _non_finite(images):
        raise ValueError(f"{path}: {wrong}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with h5py.File(tmp, "w") as f:
            write_dataset(f, "images", images.astype(np.float32), chunks=(min(n, 64), STAMP, STAMP))
            write_dataset(f, "labels", np.asarray(labels, dtype=np.int8))
            write_dataset(f, "galaxy_id", np.asarray(galaxy_id, dtype=np.int64))
            write_dataset(f, "split", np.asarray(split, dtype=np.uint8))
            write_dataset(f, "meta", meta)
            f.attrs["classes"] = list(CLASSES)
            f.attrs["splits"] = list(SPLITS)
            for k, v in attrs.items():
                f.attrs[k] = v
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def load(path) -> GalaxySet:
    """Read a whole set into memory, with a clear error for a missing, truncated, altered or foreign file
    and for non-finite pixels."""
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"{path}: no such data file (run `make data` to create it)")
    try:
        with h5py.File(path, "r") as f:
            missing = [k for k in REQUIRED if k not in f]
            if missing:
                raise DataFileError(f"{path}: not a galaxy data set, missing {missing}")
            if list(f.attrs.get("classes", [])) != list(CLASSES):
                raise DataFileError(f"{path}: class order {list(f.attrs.get('classes', []))} != {list(CLASSES)}")
            images, labels, galaxy_id, split, meta = (read_dataset(f, k) for k in REQUIRED)
            out = GalaxySet(images, labels.astype(np.int64), galaxy_id, split, meta, dict(f.attrs))
    except DataFileError:
        raise
    except (OSError, KeyError, ValueError) as e:  # h5py reports truncation and corruption as OSError
        raise DataFileError(f"{path}: cannot read as HDF5 ({e}); {REMEDY}") from e
    if out.images.shape[1:] != (STAMP, STAMP) or len(out.images) != len(out.labels):
        raise DataFileError(f"{path}: images have shape {out.images.shape}, expected (N, {STAMP}, {STAMP})")
    if wrong := _non_finite(out.images):  # refused on load as on save: one NaN stamp spoils a whole training
        raise DataFileError(f"{path}: {wrong}; {REMEDY}")
    return out


# ----------------------------------------------------------------------------- the 40 views

CROP_OFFSETS = ((0, 0), (0, STAMP - CROP), (STAMP - CROP, 0), (STAMP - CROP, STAMP - CROP),
                ((STAMP - CROP) // 2, (STAMP - CROP) // 2))  # 4 corners, then the centre
CENTRE_VIEW = 4 * 8  # centre crop, no rotation, no mirror


def decode_view(v: int) -> tuple[int, int, bool]:
    """View index 0..39 -> (crop 0..4, quarter turns 0..3, mirrored)."""
    if not 0 <= v < N_VIEWS:
        raise ValueError(f"view index {v} outside 0..{N_VIEWS - 1}")
    return v // 8, (v // 2) % 4, bool(v % 2)


def view(images: np.ndarray, v: int) -> np.ndarray:
    """View ``v`` of a stamp or a batch of stamps (..., 110, 110) -> (..., 100, 100)."""
    crop, turns, mirror = decode_view(v)
    y, x = CROP_OFFSETS[crop]
    out = images[..., y:y + CROP, x:x + CROP]
    out = np.rot90(out, turns, axes=(-2, -1))
    if mirror:
        out = out[..., ::-1]
    return out


def views_batch(images: np.ndarray, idx, views) -> np.ndarray:
    """Galaxy ``idx[k]`` of ``images`` (N, 110, 110) in view ``views[k]`` -> contiguous (B, 100, 100).

    Each view is copied straight from its stamp: no gathered copy of the batch's stamps first, and no
    grouping by view (three times the work at a batch of 64, where most views occur once).
    """
    idx = np.asarray(idx)
    views = np.broadcast_to(np.asarray(views), idx.shape)
    out = np.empty((len(idx), CROP, CROP), dtype=np.float32)
    for k, (i, v) in enumerate(zip(idx.tolist(), views.tolist())):
        out[k] = view(images[i], v)
    return out


# ----------------------------------------------------------------------------- pixel scaling

def border_pixels(images: np.ndarray, border: int = 8) -> np.ndarray:
    """(N, n_border) the pixels of each image's four edge strips, ``border`` px wide (corners once)."""
    n = len(images)
    return np.concatenate([images[:, :border, :].reshape(n, -1), images[:, -border:, :].reshape(n, -1),
                           images[:, border:-border, :border].reshape(n, -1),
                           images[:, border:-border, -border:].reshape(n, -1)], axis=1)


def sky_sigma(images: np.ndarray, border: int = 8) -> np.ndarray:
    """(sky level, sky noise) per image from its border pixels: median and 1.4826 x MAD.

    Where over half of the border pixels share one value the MAD is 0 (a JPEG-like frame whose sky
    is clipped to black around a bright star's halo, say); there the noise is the border pixels'
    standard deviation, so that :func:`normalise` does not divide by nothing and blow the frame up
    to values ten times those of every other galaxy (one such frame in a training set was enough to
    spoil the batch-normalisation statistics of a whole run).
    """
    b = border_pixels(images, border)
    med = np.median(b, axis=1, keepdims=True)
    sigma = 1.4826 * np.median(np.abs(b - med), axis=1)
    flat = sigma == 0
    if flat.any():
        sigma[flat] = b[flat].std(axis=1)
    return med[:, 0], sigma


def normalise(images: np.ndarray, soften: float = 3.0) -> np.ndarray:
    """The single pixel scaling used everywhere: per-galaxy sky subtraction, then an asinh stretch in
    units of the sky noise, asinh(x / (soften * sigma)), divided by 10 to keep values near O(1).

    Linear near the noise, logarithmic in the bright core (as the SDSS JPEGs and Lupton et al. 2004),
    so that faint outer disks and arms weigh as much as a bright bulge. Same for mock and real data.
    """
    images = np.asarray(images, dtype=np.float32)
    sky, sigma = sky_sigma(images)
    sigma = np.maximum(sigma, 1e-12)[:, None, None]
    out = np.arcsinh((images - sky[:, None, None]) / (soften * sigma)) / 10.0
    return out.astype(np.float32)
