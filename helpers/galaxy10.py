"""Galaxy10 SDSS: the file, its validation, a mock Galaxy10 rendered with GalSim, views and rebalancing.

The real set (Leung & Bovy, astroNN): 21785 colour images of 69x69 px, uint8, gri as RGB (i red,
r green, g blue, as the SDSS colour JPEGs), labels 0..9 from Galaxy Zoo 2 votes. The images are
Galaxy Zoo 2 cutouts (424 px across at 0.02 Petrosian R90 per px), cropped to the central 207 px and
downscaled 3x: every frame is about 4.1 R90 wide, whatever the galaxy's angular size; the mock is framed
that way.

File format (the real ``Galaxy10.h5``, and the mock written in the same format)::

    /images  uint8 (N, 69, 69, 3)   RGB = (i, r, g)
    /ans     uint8 (N,)             Galaxy10 class 0..9
    mock only: /split uint8 (N,) 0 train 1 val 2 test, /meta (generator parameters), attrs

The mock (:func:`ensure_mock`) reuses ``helpers.mock``'s physics (masses, sizes, Sersic bulges,
exponential disks with arms, knots, bars and dust, neighbours, stars, PSF, SDSS noise) and its colours
in g, r and i: red bulges and ellipticals, bluer disks, blue star-forming knots. Each Galaxy10 class is
given the morphology its name describes, drawn around the E/S0/Sp recipe of the galaxies that carry it
(see ``G10_RECIPES``). Each galaxy is one of Galaxy Zoo 2's (:data:`GZ2`), rendered at SDSS's 0.396"/px in
a field of :data:`FIELD_R90` Petrosian R90 and made into an SDSS colour JPEG as Galaxy10's images were
(:func:`to_rgb`), calibrated against real galaxies in Galaxy10 geometry (``helpers.galaxy10_realism``).
"""
from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
from tqdm.auto import tqdm

from . import data, mock, realism
from .classes import stratified_counts
from .train import Profile

SHA256 = "969a6b1cefcc36e09fffa86febd2f699a4aa19b837ba0427f01b0bc6ded458af"
N_REAL = 21785
# Per-class counts as the astroNN documentation lists them. They sum to 21830, 45 more than the
# 21785 images of the file; the earlier reproduction's E = {1, 2, 3} count, 13638 (13683 here),
# puts the difference in classes 1-3. The mock uses these as proportions.
DOC_COUNTS = (3461, 6997, 6292, 394, 1534, 17, 589, 1121, 906, 519)
STAMP = 69
CROP = 64                 # views: 64x64 crops (4 corners + centre) x 4 rotations x 2 mirrors = 40
SHAPE = (STAMP, STAMP, 3)
BANDS_RGB = ("i", "r", "g")
G_CHANNEL = BANDS_RGB.index("g")  # 2: g is the blue channel (the earlier reproduction read red)
MOCK_SEED = 42
# The mock Galaxy10's own recipe (framing, colours, the JPEG chain), bumped whenever a change makes other
# images; written as the attribute ``mock_version`` beside mock.GENERATOR_VERSION, and ensure_mock
# rebuilds a cached file made by another version of either.
MOCK_VERSION = 2

# Profiles of notebook 04. The CPU profiles resample the 64 px view to 40 px (factor 1.6, by
# area): the smallest size at which C2's layers still leave a feature map (34 px is the minimum).
PROFILES = {p.name: p for p in (
    Profile("smoke", 400, 40, 32, 1e-3, 2, 2, "random-view", "none", (0,)),
    Profile("quick", 2000, 40, 64, 1e-3, 8, 3, "random-view", "none", (0,)),
    Profile("full", N_REAL, 40, 64, 1e-3, 20, 4, "random-view", "none", (0, 1, 2)),
    Profile("paper", N_REAL, 64, 400, 2e-4, 100, 10, "all-views", "none", (0, 1, 2)),
)}


def profile(name: str | None = None) -> Profile:
    name = name or os.environ.get("PROFILE", "quick")
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    return PROFILES[name]


class Galaxy10FileError(data.DataFileError):
    """A Galaxy10.h5 that is missing, truncated, of the wrong shape or with the wrong checksum."""


# ----------------------------------------------------------------------------- the file

def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read(path, expected_sha256: str | None = SHA256) -> tuple[np.ndarray, np.ndarray, dict]:
    """Validate and read a Galaxy10.h5: (images uint8 (N,69,69,3), labels int64 (N,), extras).

    Checks the checksum (``expected_sha256=None`` skips it: the mock and test files; the mock's
    datasets carry Fletcher-32 checksums that HDF5 checks as they are read), the keys ``images`` and
    ``ans``, shapes, dtypes and the label range; every failure names the file and what is wrong.
    ``extras`` holds the mock's ``split``, ``meta`` and attributes when present.
    """
    path = Path(path)
    if not path.is_file():
        raise Galaxy10FileError(f"{path}: no such file (give a Galaxy10.h5 path, or let astroNN download it)")
    if expected_sha256 is not None:
        got = sha256(path)
        if got != expected_sha256.lower():
            raise Galaxy10FileError(f"{path}: SHA-256 {got} is not Galaxy10's {expected_sha256} "
                                    f"(truncated or another file); delete it and download again")
    remedy = "delete it (a mock Galaxy10 is rebuilt on its next use)"  # only the files written here have checksums
    try:
        with h5py.File(path, "r") as f:
            missing = [k for k in ("images", "ans") if k not in f]
            if missing:
                raise Galaxy10FileError(f"{path}: not a Galaxy10 file, missing {missing} (keys: {list(f)})")
            images, ans = f["images"], f["ans"]
            if images.ndim != 4 or images.shape[1:] != SHAPE:
                raise Galaxy10FileError(f"{path}: images have shape {images.shape}, expected (N, 69, 69, 3)")
            if images.dtype != np.uint8:
                raise Galaxy10FileError(f"{path}: images are {images.dtype}, expected uint8")
            if ans.shape != (images.shape[0],):
                raise Galaxy10FileError(f"{path}: ans has shape {ans.shape} for {images.shape[0]} images")
            if not np.issubdtype(ans.dtype, np.integer):
                raise Galaxy10FileError(f"{path}: ans is {ans.dtype}, expected integer classes 0..9")
            x, y = (data.read_dataset(f, k, Galaxy10FileError, remedy) for k in ("images", "ans"))
            y = y.astype(np.int64)
            extras = {k: data.read_dataset(f, k, Galaxy10FileError, remedy) for k in ("split", "meta") if k in f}
            extras["attrs"] = dict(f.attrs)
    except Galaxy10FileError:
        raise
    except (OSError, KeyError, ValueError) as e:
        raise Galaxy10FileError(f"{path}: cannot read as HDF5 ({e})") from e
    if len(y) and (y.min() < 0 or y.max() > 9):
        raise Galaxy10FileError(f"{path}: labels outside 0..9 (min {y.min()}, max {y.max()})")
    return x, y, extras


def astronn_path() -> Path:
    from astroNN.config import astroNN_CACHE_DIR
    return Path(astroNN_CACHE_DIR) / "datasets" / "Galaxy10.h5"


def load_real(path=None) -> tuple[np.ndarray, np.ndarray]:
    """The real Galaxy10 SDSS: from ``path`` (or ``GALAXY10_PATH``), else through astroNN.

    astroNN re-downloads a file with a bad checksum by unbounded recursion, writing straight over
    it; so a cached file is checked here first and astroNN is only asked when it is valid or absent.
    """
    path = path or os.environ.get("GALAXY10_PATH")
    if path:
        x, y, _ = read(path)
        return x, y
    cached = astronn_path()
    if cached.exists():
        read(cached)  # raises with the reason if the cache is bad
    from astroNN.datasets import load_galaxy10sdss
    x, y = load_galaxy10sdss()
    read(cached)
    return np.asarray(x, dtype=np.uint8), np.asarray(y, dtype=np.int64)


# ----------------------------------------------------------------------------- mock Galaxy10

# Galaxy Zoo 2's galaxies (the SDSS main sample, r < 17.0: g about 0.7 mag fainter for these colours,
# nearly all at z < 0.25): the flux limit sets how far away, so how small and how far above their sky.
GZ2 = mock.Selection("gz2", 17.7, (0.01, 0.25), spiral_min_r90_fwhm=5.0)
# Galaxy Zoo 2 cutouts: 424 px at 0.02 Petrosian R90 per px, of which Galaxy10 keeps the central 207 px.
GZ2_GRID = 207
FIELD_R90 = 0.02 * GZ2_GRID
# The SDSS colour JPEG (realism.Stretch: the Lupton et al. 2004 composite of g, r, i, the cutout
# service's resampling to the 207 px grid and Galaxy Zoo's JPEG), then Galaxy10's 3x bilinear downscale.
# Calibrated on real galaxies in Galaxy10 geometry (helpers.galaxy10_realism; README, "Galaxy10 SDSS in
# Keras"): the real sky is clipped at 0 after its noise was correlated, and its colour noise is far
# smoother than its light's (R - B scatters half as much as R). So each band is smoothed before the stretch
# (SKY_SMOOTH_PX: the real sky's level, noise and zeros together) and the colour (the JPEG's Cb, Cr) blurred
# after it (CHROMA_BLUR_PX; 3 px halves the excess colour speckle, more would smear the centres' colour
# into the outskirts), where the g-band chain's frame JPEG would clip a white sky. sky (per channel) and
# soften give the real sky level and noise, colour_zero the colour of the real galaxies' centres.
STRETCH = realism.Stretch(sky=(1.37, 3.25, 0.21), soften=1.525, q=8.0, colour_zero=0.5, jpeg_quality=75,
                          jpeg_grid=GZ2_GRID, frame_jpeg=None)
SKY_SMOOTH_PX = 0.7    # Gaussian sigma, SDSS px
CHROMA_BLUR_PX = 3.0   # Gaussian sigma, SDSS px


G10_RECIPES = {
    0: "disk seen face-on, no arms: lenticulars, or spirals whose arms are too faint",
    1: "smooth and round: ellipticals E0-E2, a few face-on lenticulars",
    2: "smooth, in-between round: ellipticals E3-E5, and lenticulars at moderate inclination",
    3: "smooth, cigar-shaped: lenticulars seen edge-on, a few flat ellipticals",
    4: "edge-on disk with a rounded bulge: lenticulars and early spirals",
    5: "edge-on disk with a boxy bulge: a bar seen edge-on",
    6: "edge-on disk without a bulge: late-type spirals",
    7: "face-on spiral, tight arms (pitch 6-13 deg)",
    8: "face-on spiral, medium arms (pitch 13-22 deg)",
    9: "face-on spiral, loose arms (pitch 22-35 deg)",
}


def _incline(p: dict, rng, lo: float, hi: float, cls: str) -> None:
    p["inclination_deg"] = float(rng.uniform(lo, hi))
    p["disk_q"] = mock._projected_q(p["inclination_deg"], 0.12)
    p["dust_strength"] = (rng.uniform(0.2, 0.8) * (1.0 if cls == "Sp" else 0.3)) if p["inclination_deg"] > 65 else 0.0


def draw_g10_parameters(rng: np.random.Generator, g10: int, realism=mock.Realism(),
                        selection: mock.Selection | None = None) -> dict:
    """Parameters of a galaxy of Galaxy10 class ``g10``: mock.draw_parameters of the physical class
    behind it (a galaxy of ``selection``, default :data:`GZ2`), then the morphology the class name
    describes (inclination, shape, arms). Its T-type is the drawn one, without a catalogue's scatter
    (Galaxy10's labels are votes on what the galaxy looks like): ``ttype`` and ``ttype_true`` alike."""
    u = rng.random()
    base = {0: "S0" if u < 0.7 else "Sp", 1: "E" if u < 0.9 else "S0", 2: "E" if u < 0.75 else "S0",
            3: "S0" if u < 0.7 else "E", 4: "S0" if u < 0.5 else "Sp", 5: "Sp", 6: "Sp",
            7: "Sp", 8: "Sp", 9: "Sp"}[g10]
    p = mock.draw_parameters(rng, base, realism, selection or GZ2)
    p["ttype"] = p["ttype_true"] = p.get("ttype_true", p["ttype"])  # the drawn type, without catalogue scatter
    p["merger"] = 0
    if g10 == 0:
        _incline(p, rng, 0, 55, base)
        p["arm_strength"] = min(p["arm_strength"], 0.08)
        p["knot_fraction"] = min(p["knot_fraction"], 0.02)
    elif g10 in (1, 2, 3) and base == "E":
        p["bulge_q"] = float({1: rng.uniform(0.8, 1.0), 2: rng.uniform(0.5, 0.8), 3: rng.uniform(0.3, 0.45)}[g10])
    elif g10 in (1, 2, 3):  # a smooth lenticular: no arms, no knots
        _incline(p, rng, *{1: (0, 30), 2: (35, 65), 3: (78, 90)}[g10], base)
        p["arm_strength"] = p["knot_fraction"] = p["clumpiness"] = 0.0
    elif g10 in (4, 5):
        _incline(p, rng, 82, 90, base)
        p["bulge_fraction"] = float(rng.uniform(0.25, 0.6))
        p["bulge_q"] = float(rng.uniform(0.8, 1.0) if g10 == 4 else rng.uniform(0.55, 0.75))
    elif g10 == 6:
        p["ttype"] = p["ttype_true"] = int(rng.integers(6, 10))
        _incline(p, rng, 84, 90, base)
        p["bulge_fraction"] = float(rng.uniform(0.0, 0.04))
    else:  # 7, 8, 9: face-on spirals, arm pitch by class
        _incline(p, rng, 0, 55, base)
        lo, hi = {7: (6, 13), 8: (13, 22), 9: (22, 35)}[g10]
        p["arm_pitch_deg"] = float(rng.uniform(lo, hi))
        p["arm_strength"] = float(max(p["arm_strength"], rng.uniform(0.35, 0.8)))
        p["n_arms"] = p["n_arms"] or 2
        p["arm_sharpness"] = p["arm_sharpness"] or 2.0
    p["bulge_n"] = float(mock.SERSIC_N[np.argmin(abs(mock.SERSIC_N - p["bulge_n"]))])
    # Galaxy Zoo 2 framing: the 69 px frame is FIELD_R90 Petrosian R90 (as SDSS measures it) wide.
    p["pixel_scale_arcsec"] = FIELD_R90 * mock.petrosian_radii(p)[1] / STAMP
    p["offset_x_px"], p["offset_y_px"] = np.clip(rng.normal(0, 0.3, 2), -1, 1)  # SDSS px; GZ2 cutouts are centred
    return p


def render_gri(p: dict, rng: np.random.Generator, realism=mock.Realism()) -> np.ndarray:
    """The galaxy ``p`` in g, r, i at SDSS's 0.396"/px, in a field ``FIELD_R90`` Petrosian R90 across:
    (3, n, n) sky-subtracted nanomaggies, with ``helpers.mock``'s scene (bulge, disk with its arms,
    knots, bars and dust, neighbours, PSF, stars), its noise and its colours (``mock.gri_bands``)."""
    stamp = mock.gz_stamp(p, FIELD_R90)
    parts = {}
    scene = mock._scene(p, rng, realism, stamp, parts)
    g = mock._observe(scene, p, rng, realism, stamp)
    return mock.gri_bands(g, scene, parts, p, rng)


def to_rgb(gri: np.ndarray, sigma: float, stretch: realism.Stretch | None = None, smooth: float | None = None,
           chroma_blur: float | None = None) -> np.ndarray:
    """(3, n, n) g, r, i flux (sky at 0, g-band sky noise ``sigma``) -> (69, 69, 3) uint8 RGB = (i, r, g),
    as Galaxy10 made its images: each band smoothed by ``smooth`` px, the SDSS colour composite through
    ``stretch``, its colour blurred by ``chroma_blur`` px, the JPEGs on the cutout's grid, then the 3x
    bilinear downscale (defaults: :data:`STRETCH`, :data:`SKY_SMOOTH_PX`, :data:`CHROMA_BLUR_PX`)."""
    from PIL import Image
    from scipy.ndimage import gaussian_filter
    stretch = stretch or STRETCH
    smooth = SKY_SMOOTH_PX if smooth is None else smooth
    chroma_blur = CHROMA_BLUR_PX if chroma_blur is None else chroma_blur
    if smooth:
        gri = np.stack([gaussian_filter(band, smooth) for band in gri])
    rgb = Image.fromarray(np.clip(np.round(stretch.composite(gri, sigma=sigma)), 0, 255).astype(np.uint8))
    if chroma_blur:
        ycc = np.asarray(rgb.convert("YCbCr"), dtype=np.float32)
        ycc[..., 1:] = np.stack([gaussian_filter(ycc[..., c], chroma_blur, mode="nearest") for c in (1, 2)], -1)
        rgb = Image.fromarray(np.clip(np.round(ycc), 0, 255).astype(np.uint8), "YCbCr").convert("RGB")
    big = stretch.jpegs(np.asarray(rgb, dtype=np.float32))
    return np.asarray(Image.fromarray(big, mode="RGB").resize((STAMP, STAMP), Image.Resampling.BILINEAR))


def mock_galaxy(seed: int, index: int, g10: int, realism=mock.Realism()) -> tuple[np.ndarray, dict]:
    """Galaxy ``index`` of the mock Galaxy10 made with ``seed``: ((69, 69, 3) uint8 RGB, parameters)."""
    rng = np.random.default_rng([seed, index, 10])
    p = draw_g10_parameters(rng, g10, realism)
    return to_rgb(render_gri(p, rng, realism), p["sky_sigma_nmgy"]), p


META_DTYPE = np.dtype(mock.META_DTYPE.descr + [("pixel_scale_arcsec", "f4")])


def _render_chunk(args):
    seed, indices, labels = args
    images = np.empty((len(indices), *SHAPE), dtype=np.uint8)
    meta = np.zeros(len(indices), dtype=META_DTYPE)
    for j, (i, lab) in enumerate(zip(indices, labels)):
        images[j], p = mock_galaxy(seed, int(i), int(lab))
        meta[j] = tuple(p.get(name, 0) for name in META_DTYPE.names)
    return images, meta


def mock_labels(n: int, seed: int) -> np.ndarray:
    """Galaxy10 labels of an n-galaxy mock: Galaxy10's class proportions, shuffled."""
    counts = stratified_counts(n, {str(k): c for k, c in enumerate(DOC_COUNTS)})
    labels = np.concatenate([np.full(c, int(k)) for k, c in counts.items()])
    return np.random.default_rng([seed, 10, 2**31]).permutation(labels)


def split(labels, seed: int = 0) -> np.ndarray:
    """Split codes 0/1/2 (train/val/test), stratified by Galaxy10 class (classes with fewer than
    10 galaxies form one stratum together), the same for every mapping."""
    labels = np.asarray(labels)
    counts = np.bincount(labels, minlength=10)
    strata = np.where(counts[labels] < 10, -1, labels)
    if 0 < np.sum(strata == -1) < 10:
        strata[strata == -1] = np.argmax(counts)
    return data.split_by_galaxy(strata, seed=seed)


def mock_path(n: int, seed: int = MOCK_SEED) -> Path:
    return data.DATA_DIR / "processed" / f"galaxy10_mock_n{n}_seed{seed}.h5"


def render(seed: int, labels, workers: int | None = None, chunk: int = 32, progress: bool = True,
           desc: str = "mock Galaxy10") -> tuple[np.ndarray, np.ndarray]:
    """Galaxies 0..n-1 of the mock ``seed`` with Galaxy10 classes ``labels``, rendered in parallel
    (spawned workers): (images uint8 (n, 69, 69, 3), meta)."""
    n = len(labels)
    workers = workers or os.cpu_count() or 1
    jobs = [(seed, np.arange(s, min(s + chunk, n)), labels[s:s + chunk]) for s in range(0, n, chunk)]
    images = np.empty((n, *SHAPE), dtype=np.uint8)
    meta = np.zeros(n, dtype=META_DTYPE)
    t0 = time.perf_counter()
    pool = (ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                initializer=mock._one_thread) if workers > 1 else mock._Serial())
    with pool, tqdm(total=n, desc=f"{desc} ({workers} proc)", unit="gal", disable=not progress) as bar:
        for (_, idx, _), (im, me) in zip(jobs, pool.map(_render_chunk, jobs)):
            images[idx], meta[idx] = im, me
            bar.update(len(idx))
    if progress:
        print(f"rendered {n} mock Galaxy10 galaxies in {time.perf_counter() - t0:.0f} s")
    return images, meta


def build_mock(path, n: int, seed: int = MOCK_SEED, workers: int | None = None, chunk: int = 32,
               progress: bool = True) -> Path:
    """Render an n-galaxy mock Galaxy10 in parallel (spawned workers) and write it atomically."""
    labels = mock_labels(n, seed)
    images, meta = render(seed, labels, workers, chunk, progress)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with h5py.File(tmp, "w") as f:
            data.write_dataset(f, "images", images, chunks=(min(n, 256), *SHAPE))
            data.write_dataset(f, "ans", labels.astype(np.uint8))
            data.write_dataset(f, "split", split(labels, seed))
            data.write_dataset(f, "meta", meta)
            f.attrs.update(source="mock Galaxy10 (GalSim, helpers/galaxy10.py)", seed=seed, n=n,
                           rgb="i, r, g", stretch=str(STRETCH), selection=str(GZ2),
                           generator_version=mock.GENERATOR_VERSION, mock_version=MOCK_VERSION)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def ensure_mock(n: int, seed: int = MOCK_SEED, progress: bool = True) -> Path:
    """The cached mock of n galaxies, built on first use (rebuilt if unreadable, or made by another
    version of the generator or of the mock Galaxy10's recipe)."""
    path = mock_path(n, seed)
    try:
        _, y, extras = read(path, expected_sha256=None)
        attrs = extras["attrs"]
        got = (len(y), attrs.get("seed"), attrs.get("generator_version"), attrs.get("mock_version"))
        wanted = (n, seed, mock.GENERATOR_VERSION, MOCK_VERSION)
        if got == wanted:
            return path
        print(f"{path}: {got[0]} galaxies, seed {got[1]}, generator version {got[2]}, mock Galaxy10 version {got[3]}; "
              f"wanted {n}, seed {seed}, versions {wanted[2]} and {wanted[3]}: rebuilding")
    except Galaxy10FileError as e:
        if path.exists():
            print(f"{e}; rebuilding")
    return build_mock(path, n, seed, progress=progress)


def load(dataset: str, prof: Profile, path=None, seed: int = MOCK_SEED):
    """(images uint8 (N,69,69,3), Galaxy10 labels, split) for 'mock' (built at the profile's size)
    or 'galaxy10' (the real file, a stratified sample of the profile's size, split by ``seed``)."""
    if dataset == "mock":
        x, y, extras = read(ensure_mock(prof.n_galaxies, seed), expected_sha256=None)
        return x, y, extras["split"]
    if dataset == "galaxy10":
        x, y = load_real(path)
        if prof.n_galaxies < len(y):
            keep = np.sort(np.random.default_rng(seed).permutation(len(y))[:prof.n_galaxies])
            x, y = x[keep], y[keep]
        return x, y, split(y, seed)
    raise ValueError(f"unknown DATASET {dataset!r}: use 'mock' or 'galaxy10'")


# ----------------------------------------------------------------------------- pixels and views

def channels(images: np.ndarray, which: str) -> np.ndarray:
    """Network pixels in [0, 1], channels last: 'gri' (all three) or 'g' (the blue channel only)."""
    if which == "gri":
        return images.astype(np.float32) / 255.0
    if which == "g":
        return images[..., G_CHANNEL:G_CHANNEL + 1].astype(np.float32) / 255.0
    raise ValueError(f"unknown channels {which!r}: use 'gri' or 'g'")


CROP_OFFSETS = ((0, 0), (0, STAMP - CROP), (STAMP - CROP, 0), (STAMP - CROP, STAMP - CROP),
                ((STAMP - CROP) // 2, (STAMP - CROP) // 2))  # as data.CROP_OFFSETS: corners, centre


def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of an area-averaging resampling (each output pixel the mean of the input
    area it covers; rows sum to 1). n_in == n_out is the identity."""
    edges = np.linspace(0, n_in, n_out + 1)
    a = np.zeros((n_out, n_in))
    for o in range(n_out):
        for i in range(int(edges[o]), int(np.ceil(edges[o + 1]))):
            a[o, i] = min(edges[o + 1], i + 1) - max(edges[o], i)
    return (a / a.sum(1, keepdims=True)).astype(np.float32)


def view(images: np.ndarray, v: int) -> np.ndarray:
    """View ``v`` (0..39, decoded by ``data.decode_view``) of (..., 69, 69, C) -> (..., 64, 64, C)."""
    crop, turns, mirror = data.decode_view(v)
    y, x = CROP_OFFSETS[crop]
    out = np.rot90(images[..., y:y + CROP, x:x + CROP, :], turns, axes=(-3, -2))
    return out[..., ::-1, :] if mirror else out


def batch(images: np.ndarray, idx, views, input_size: int) -> np.ndarray:
    """Keras input: galaxies ``idx`` in ``views`` (one each, one for all, or None: the centre view),
    resampled to input_size -> contiguous float32 (B, S, S, C)."""
    idx = np.asarray(idx)
    views = np.broadcast_to(np.asarray(data.CENTRE_VIEW if views is None else views), idx.shape)
    out = np.empty((len(idx), CROP, CROP, images.shape[-1]), dtype=np.float32)
    for v in np.unique(views):
        sel = views == v
        out[sel] = view(images[idx[sel]], int(v))
    if input_size != CROP:
        a = _area_matrix(CROP, input_size)
        out = np.einsum("oh,bhwc,pw->bopc", a, out, a, optimize=True)
    return np.ascontiguousarray(out, dtype=np.float32)


def torch_batch(images, idx, views, input_size):
    """The same input for PyTorch: a float32 tensor (B, C, S, S)."""
    import torch
    return torch.from_numpy(np.ascontiguousarray(batch(images, idx, views, input_size).transpose(0, 3, 1, 2)))


# ----------------------------------------------------------------------------- rebalancing

STRATEGIES = ("none", "class-weights", "undersample", "oversample")


def rebalance(labels: np.ndarray, strategy: str, seed: int = 0) -> tuple[np.ndarray, str]:
    """(indices into the training set, class-weight mode) for a rebalancing strategy.

    none: every training galaxy once. class-weights: the same galaxies, each class's loss weighted
    by n / (k * count). undersample: a seeded random subset of every class the size of the
    smallest. oversample: every galaxy, and the smaller classes repeated (cyclically, in a seeded
    order) up to the size of the largest; the epoch plan gives each copy its own random view of the
    40, so a repeated galaxy is seen rotated, mirrored and cropped differently.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng([seed, 7])
    present = np.unique(labels)
    by_class = [np.nonzero(labels == c)[0] for c in present]
    if strategy in ("none", "class-weights"):
        return np.arange(len(labels)), "balanced" if strategy == "class-weights" else "none"
    if strategy == "undersample":
        m = min(len(i) for i in by_class)
        return np.sort(np.concatenate([rng.choice(i, m, replace=False) for i in by_class])), "none"
    if strategy == "oversample":
        m = max(len(i) for i in by_class)
        return np.sort(np.concatenate([np.resize(rng.permutation(i), m) for i in by_class])), "none"
    raise ValueError(f"unknown strategy {strategy!r}; choose one of {STRATEGIES}")


def with_weights(prof: Profile, mode: str) -> Profile:
    return replace(prof, class_weights=mode)


# ----------------------------------------------------------------------------- one experiment

def experiment(framework: str, model_name: str, x: np.ndarray, y: np.ndarray, split_codes: np.ndarray,
               n_classes: int, prof: Profile, strategy: str, seed: int, extra: np.ndarray | None = None) -> dict:
    """Train one network on the training galaxies (rebalanced by ``strategy``), early-stopped on the
    validation galaxies, and predict the test galaxies (centre view). Early stopping watches the
    class-balanced validation loss for every strategy (in PyTorch, ``train.fit`` weighs it as the
    training loss: balanced with 'class-weights', the strategy the frameworks are compared on).

    ``x``: pixels (N, 69, 69, C) from :func:`channels`; ``y``: labels 0..k-1; ``framework``:
    'keras' or 'torch'. Returns test labels, class probabilities and predictions, the history and the
    training set size; with ``extra`` (more images, as ``x``) also their probabilities, ``proba_extra``.
    """
    tr, va, te = (split_codes == k for k in range(3))
    idx, weights = rebalance(y[tr], strategy, seed)
    # The same budget of optimiser steps for every strategy: epochs and patience are counted in
    # passes over the whole training set, so an undersampled epoch (fewer galaxies) gets more of
    # them and an oversampled one fewer.
    ratio = tr.sum() / len(idx)
    p = replace(with_weights(prof, weights), max_epochs=max(1, round(prof.max_epochs * ratio)),
                patience=max(1, round(prof.patience * ratio)))
    x_tr, y_tr = x[tr][idx], y[tr][idx]
    channels_in = x.shape[-1]
    if framework == "keras":
        from . import models_keras
        models_keras.seed_everything(seed)
        model = models_keras.build_model(model_name, n_classes, prof.input_size, channels_in)
        hist = models_keras.fit(model, batch, x_tr, y_tr, x[va], y[va], p, seed, balanced_validation=True)
        predict = lambda images: models_keras.predict_proba(model, batch, images, prof.input_size)
    elif framework == "torch":
        from . import evaluate, models_torch, train
        train.seed_everything(seed)
        model = models_torch.build_model(model_name, n_classes, prof.input_size, channels=channels_in)
        hist = train.fit(model, x_tr, y_tr, x[va], y[va], p, seed, progress=False, batch_fn=torch_batch)
        predict = lambda images: evaluate.predict_proba(model, images, prof.input_size, batch_fn=torch_batch)
    else:
        raise ValueError(f"unknown framework {framework!r}: use 'keras' or 'torch'")
    proba = predict(x[te])
    out = {"y_test": y[te], "pred": proba.argmax(1), "proba": proba, "history": hist, "n_train": len(idx),
           "n_train_galaxies": int(len(np.unique(idx)))}
    if extra is not None:
        out["proba_extra"] = predict(extra)
    return out


# ----------------------------------------------------------------------------- rebalancing over seeds

REBALANCING_TOPIC = "galaxy10_rebalancing"


def parse_seeds(text: str) -> list[int]:
    """'0-9' or '0,2,5' or '0-4,7' -> a sorted list of distinct seeds."""
    seeds = set()
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        seeds.update(range(int(lo), int(hi or lo) + 1))
    return sorted(seeds)


def rebalancing_runs(seeds, prof: Profile, framework: str = "keras", mapping: str = "better-3way",
                     results_dir=None, progress: bool = True) -> list[dict]:
    """Every rebalancing strategy on the mock Galaxy10 of ``prof`` (colour, C2), once per seed, the seeds
    paired: a seed gives every strategy the same split (``split(labels, seed)``) and the same initial
    weights, and the strategies the same budget of optimiser steps (:func:`experiment`). Each record is
    written to ``results/galaxy10_rebalancing.json`` as it comes (a run cut short resumes: records of this
    mock version already there are kept, not rerun)."""
    from . import evaluate
    from .classes import galaxy10_classes, galaxy10_relabel
    images, g10, _ = load("mock", prof)
    keep, y = galaxy10_relabel(g10, mapping)
    x, classes = channels(images[keep], "gri"), galaxy10_classes(mapping)
    path = (Path(results_dir) if results_dir else data.RESULTS_DIR) / f"{REBALANCING_TOPIC}.json"
    done = {(r["model"], r["seed"]) for r in evaluate.read_records(path)
            if r.get("mock_version") == MOCK_VERSION and r["profile"] == prof.name and r["scheme"] == mapping}
    records = []
    for seed in seeds:
        codes = split(g10, seed)[keep]
        for strategy in STRATEGIES:
            name = f"C2-{framework}-gri-{strategy}"
            if (name, seed) in done:
                continue
            out = experiment(framework, "C2", x, y, codes, len(classes), prof, strategy, seed)
            h = out["history"]
            rec = evaluate.record(name, mapping, "galaxy10-mock", prof, seed, out["y_test"], out["pred"], classes,
                                  n_train=out["n_train"], epochs=h.stopped_epoch, train_seconds=h.train_seconds,
                                  framework=framework, rebalancing=strategy, mapping=mapping, mock_version=MOCK_VERSION,
                                  n_train_galaxies=out["n_train_galaxies"], best_epoch=h.best_epoch,
                                  optimiser_steps=h.stopped_epoch * -(-out["n_train"] // prof.batch_size),
                                  input_size=prof.input_size)
            records.append(rec)
            evaluate.write_results(REBALANCING_TOPIC, [rec], results_dir)
            if progress:
                print(f"seed {seed} {strategy:<13} balanced accuracy {rec['balanced_accuracy']:.3f}, S0 recall "
                      f"{rec['per_class']['S0']['recall']:.3f}, {h.stopped_epoch} epochs, "
                      f"{rec['optimiser_steps']} steps, {h.train_seconds:.0f} s", flush=True)
    return records


def paired_summary(records, metrics=None, baseline: str = "none", level: float = 0.95) -> dict:
    """The strategies of rebalancing records compared over seeds. Per strategy and metric (``metrics``:
    {name: function of a record}; default balanced accuracy and the S0 recall): the mean and standard
    deviation over seeds, and against ``baseline`` on the seeds both have, each seed's difference
    (``per_seed``), their mean with its t interval (``level``) and ``detectable``: the smallest true difference that this many
    seeds would find (interval clear of 0) four times in five, given the observed spread of the
    differences, (t_{(1+level)/2} + t_{0.8}) sd / sqrt(seeds)."""
    from scipy import stats
    metrics = metrics or {"balanced_accuracy": lambda r: r["balanced_accuracy"],
                          "S0_recall": lambda r: r["per_class"]["S0"]["recall"]}
    by = {}
    for r in records:
        by.setdefault(r["rebalancing"], {})[r["seed"]] = r
    out = {}
    for strategy in [s for s in STRATEGIES if s in by]:
        runs = by[strategy]
        out[strategy] = {"seeds": len(runs)}
        for m, f in metrics.items():
            v = np.array([f(r) for r in runs.values()])
            entry = {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if len(v) > 1 else None}
            common = sorted(set(runs) & set(by.get(baseline, {})))
            if strategy != baseline and len(common) > 1:
                d = np.array([f(runs[s]) - f(by[baseline][s]) for s in common])
                se = d.std(ddof=1) / np.sqrt(len(d))
                t_level, t_power = stats.t.ppf((1 + level) / 2, len(d) - 1), stats.t.ppf(0.8, len(d) - 1)
                entry["vs_" + baseline] = {"difference": float(d.mean()), "sd": float(d.std(ddof=1)), "seeds": len(d),
                                           "per_seed": [float(x) for x in d],
                                           "ci": [float(d.mean() - t_level * se), float(d.mean() + t_level * se)],
                                           "detectable": float((t_level + t_power) * se)}
            out[strategy][m] = entry
    return out


def rebalancing_answer(records) -> str:
    """Markdown: the rebalancing strategies compared over paired seeds (:func:`paired_summary` of the
    records of ``results/galaxy10_rebalancing.json``), a table and the answer in words, every number
    from the records."""
    if not records:
        return ("No multi-seed comparison recorded yet: `python -m helpers.galaxy10 rebalancing --seeds 0-9` "
                f"writes `results/{REBALANCING_TOPIC}.json`.")
    summary = paired_summary(records)
    r0 = records[0]
    seeds = sorted({r["seed"] for r in records})
    pts = lambda v: f"{100 * v:+.1f}"
    rows = ["| strategy | seeds | balanced accuracy, mean (sd) | S0 recall, mean (sd) | balanced accuracy minus none's "
            "(95 % interval) | S0 recall minus none's (95 % interval) |", "|---|---|---|---|---|---|"]
    found, none_seen = [], []
    for strategy, s in summary.items():
        cells = [strategy, str(s["seeds"])]
        for m in ("balanced_accuracy", "S0_recall"):
            cells.append(f"{s[m]['mean']:.3f} ({s[m]['sd'] or 0:.3f})")
        for m, name in (("balanced_accuracy", "balanced accuracy"), ("S0_recall", "lenticular recall")):
            v = s[m].get("vs_none")
            if v is None:
                cells.append("-")
                continue
            cells.append(f"{pts(v['difference'])} points ({pts(v['ci'][0])} to {pts(v['ci'][1])})")
            if v["ci"][0] > 0 or v["ci"][1] < 0:
                found.append(f"{strategy} {'raises' if v['difference'] > 0 else 'lowers'} the {name} by "
                             f"{abs(100 * v['difference']):.1f} points ({pts(v['ci'][0])} to {pts(v['ci'][1])})")
            else:
                none_seen.append((strategy, name, v))
        rows.append("| " + " | ".join(cells) + " |")
    head = (f"Over {len(seeds)} paired seeds ({seeds[0]}-{seeds[-1]}; a seed gives every strategy the same split "
            f"and initial weights), C2 in {'PyTorch' if r0['framework'] == 'torch' else 'Keras'} "
            f"on the mock Galaxy10 (version {r0['mock_version']}, `{r0['profile']}`, {r0['scheme']}, colour, "
            f"{r0['n_test']} test galaxies a seed), the same budget of optimiser steps for every strategy:")
    words = []
    if found:
        n = 2 * (len(summary) - 1)
        words.append("Beyond the spread between seeds, " + "; ".join(found) + f" (with {n} intervals at 95 % each, "
                     f"one or more would leave out 0 by chance alone {100 * (1 - 0.95 ** n):.0f} % of the time).")
    if none_seen:
        bound = max(max(abs(v["ci"][0]), abs(v["ci"][1])) for _, _, v in none_seen)
        detect = max(v["detectable"] for _, _, v in none_seen)
        words.append(f"The other comparisons with no rebalancing ({', '.join(f'{s}: {n}' for s, n, _ in none_seen)}) "
                     f"show no difference: each lies within {100 * bound:.1f} points of none's, and differences "
                     f"of {100 * detect:.1f} points or more would have been seen (four times in five).")
    return head + "\n\n" + "\n".join(rows) + "\n\n" + " ".join(words)


def this_run(strategy_records, colour_records, earlier_records, framework_records, rebalancing_records=()) -> str:
    """Markdown bullets on notebook 04's own single-seed runs, every number from its records; differences
    between two runs are set against ``sd``, the spread of the balanced accuracy between seeds of one
    strategy (from the multi-seed records; None when there are none)."""
    recall = lambda r, c: r["per_class"][c]["recall"] if c in r["per_class"] else float("nan")
    span = lambda values, f="{:.2f}": "-".join(dict.fromkeys(f.format(v) for v in (min(values), max(values))))
    sds = [v["balanced_accuracy"]["sd"] for v in paired_summary(rebalancing_records).values()
           if v["balanced_accuracy"]["sd"] is not None] if rebalancing_records else []
    sd = float(np.mean(sds)) if sds else None

    def against_seeds(a, b):
        d = abs(a - b)
        if sd is None:
            return "one seed each, so no verdict"
        return (f"{100 * d:.1f} points apart, {'within' if d < 2 * sd else 'beyond'} twice the spread between seeds of "
                f"one strategy (sd {100 * sd:.1f} points)")
    out = []
    st = strategy_records
    out.append(f"- **Plain accuracy hides the imbalance.** The four colour runs score "
               f"{span([r['accuracy'] for r in st], '{:.0%}')} accuracy while finding "
               f"{span([recall(r, 'S0') for r in st], '{:.0%}')} of the lenticulars "
               f"(balanced accuracy {span([r['balanced_accuracy'] for r in st])}); which strategy ranks first in "
               f"one seed is not the answer: that is the multi-seed comparison above.")
    col, g = colour_records
    out.append(f"- **Colour and g alone.** With class weights, g alone (Galaxy10's blue channel, the paper's band) "
               f"finds {recall(g, 'E'):.0%} of the ellipticals and {recall(g, 'S0'):.0%} of the lenticulars "
               f"(balanced {g['balanced_accuracy']:.2f}); g, r and i find {recall(col, 'E'):.0%} and "
               f"{recall(col, 'S0'):.0%} (balanced {col['balanced_accuracy']:.2f}): "
               f"{against_seeds(col['balanced_accuracy'], g['balanced_accuracy'])}. In the mock the colours follow "
               f"the type by construction; how much colour helps on the real sky is for `DATASET=galaxy10` to measure.")
    e = earlier_records[0]
    out.append(f"- **The earlier mapping measures something else.** Its Irr+Misc are face-on disks without arms: "
               f"the network finds {recall(e, 'Irr+Misc'):.0%} of them, and {recall(e, 'S0'):.0%} of its S0 (edge-on "
               f"disks, a geometric class). High scores under that mapping say little about E/S0/Sp/Irr.")
    k, t = framework_records
    out.append(f"- **Keras and PyTorch.** The same C2, split, views and order reach balanced accuracy "
               f"{k['balanced_accuracy']:.2f} (Keras; E recall {recall(k, 'E'):.2f}, S0 {recall(k, 'S0'):.2f}) and "
               f"{t['balanced_accuracy']:.2f} (PyTorch; E {recall(t, 'E'):.2f}, S0 {recall(t, 'S0'):.2f}): "
               f"{against_seeds(k['balanced_accuracy'], t['balanced_accuracy'])}. Besides their own initial weights, "
               f"the two engines differ in the batch-normalisation statistics at validation (PyTorch recomputes them, "
               f"`train.recalibrate_batchnorm`; Keras keeps a running mean) and, on a CPU with AMX, in PyTorch's "
               f"bfloat16. Their times, {k['train_seconds'] / k['epochs']:.1f} and "
               f"{t['train_seconds'] / t['epochs']:.1f} s an epoch on the machine that ran this, are not a benchmark.")
    return "\n".join(out)


def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(description="Galaxy10 runs that are too long for notebook 04")
    sub = ap.add_subparsers(dest="command", required=True)
    rb = sub.add_parser("rebalancing", help="the four rebalancing strategies over paired seeds "
                                            f"(writes results/{REBALANCING_TOPIC}.json)")
    rb.add_argument("--seeds", default="0-9", help="e.g. 0-9 or 0,1,2")
    rb.add_argument("--profile", default="quick", help=f"one of {sorted(PROFILES)}")
    rb.add_argument("--framework", default="keras", choices=("keras", "torch"))
    rb.add_argument("--results-dir", default=None)
    args = ap.parse_args(argv)
    prof = profile(args.profile)
    rebalancing_runs(parse_seeds(args.seeds), prof, args.framework, results_dir=args.results_dir)
    path = (Path(args.results_dir) if args.results_dir else data.RESULTS_DIR) / f"{REBALANCING_TOPIC}.json"
    from . import evaluate
    records = [r for r in evaluate.read_records(path)
               if r.get("mock_version") == MOCK_VERSION and r["profile"] == prof.name]
    for strategy, s in paired_summary(records).items():
        line = f"{strategy:<13} {s['seeds']} seeds"
        for m in ("balanced_accuracy", "S0_recall"):
            e = s[m]
            line += f"; {m} {e['mean']:.3f} (sd {e['sd'] or 0:.3f})"
            if "vs_none" in e:
                v = e["vs_none"]
                line += f", vs none {v['difference']:+.3f} [{v['ci'][0]:+.3f}, {v['ci'][1]:+.3f}]"
        print(line)
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main())
