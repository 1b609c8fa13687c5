"""Mock against real: the JPEG-like stretch, the real sample, statmorph statistics, sim-to-real.

The real reference is a folder of SDSS colour JPEGs as Galaxy Zoo 1 showed them (``labels.csv`` with
``objid, gz1_class, gz1_name``; ``images/<objid>.jpeg``, 423x423 RGB, i r g -> R G B). It is a
development reference only: nothing in the repository depends on it, and ``make realism`` says so
and stops cleanly when it is absent.

Both sides go through the same steps before they are compared:

1. **The g band.** Real: the blue channel of the JPEG (read with PIL, RGB order), the central
   ``crop`` x ``crop`` px, resized (area average) to the mock's 110 px frame. Mock: drawn as GZ1's
   galaxies (``--selection gz1``: :data:`mock.GZ1`, fainter and farther than the mock set's Nair &
   Abraham galaxies, its spirals the ones resolved enough for GZ1's volunteers to see them wind,
   R90 >= 5 seeing FWHM), framed as GZ1 framed them (``--framing gz1``, the default: each galaxy rendered
   in a field of the same number of Petrosian R90 as the real crop, 0.024 ``crop``; ``fixed``: the
   mock set's own 110 px at 0.396"/px), in g, r and i (:func:`mock.galaxy_gri`: a red bulge, the disk
   at its type's colour, blue arms, clumps and knots) with their sky noise
   scaled to the real sample's depth (``--noise-scale``, :data:`NOISE_SCALE`), then put through
   :class:`Stretch`: the SDSS colour composite (Lupton et al. 2004), the frame JPEG at 0.396"/px, the
   cutout service's resampling to the real crop's grid and GZ1's JPEG, its blue channel; calibrated
   to bring the sky level and sky noise to the real JPEGs' (:func:`calibrate_stretch`). :func:`noise_acf` and
   :func:`radial_profile` check the sky's correlation and the galaxies' light against the real.
2. **Statistics** (:func:`measure`): statmorph on the sky-subtracted stretched stamp (the JPEG
   values are not linear flux, so the mock is measured in the same non-linear units), with a
   photutils segmentation: size in the frame (r50 / frame width), concentration, asymmetry,
   smoothness, Gini, M20, ellipticity. Failures are kept as NaN with ``flag`` -1; statmorph's own
   flag (0 good, 1 suspect, 2 bad, 4 catastrophic) is kept and only flags 0-1 enter the KS distances.
3. **Sim-to-real** (:func:`sim_to_real`): C2 trained on a mock set alone, E|S0 against Sp (as GZ1
   splits them), tested on the real ellipticals and spirals; mock and real alike through
   ``data.normalise`` after the stretch.

Groups: real GZ1 ``elliptical`` -> E|S0; ``spiral_cw``, ``spiral_acw``, ``edge_on`` -> Sp; ``merger``
-> merger/Irr (``dont_know``, stars and artefacts, is left out). Mock E and S0 -> E|S0, Sp -> Sp,
Irr+Misc (irregulars and mergers) -> merger/Irr.
"""
from __future__ import annotations

import argparse
import functools
import multiprocessing
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from . import data, mock

GROUPS = ("E|S0", "Sp", "merger/Irr")
GZ1_GROUP = {"elliptical": "E|S0", "spiral_cw": "Sp", "spiral_acw": "Sp", "edge_on": "Sp",
             "merger": "merger/Irr"}
MOCK_GROUP = {"E": "E|S0", "S0": "E|S0", "Sp": "Sp", "Irr+Misc": "merger/Irr"}
STATISTICS = ("size", "concentration", "asymmetry", "smoothness", "gini", "m20", "ellipticity")
SHAPE_STATISTICS = STATISTICS[1:]  # the targeted ones; size in the frame is shown, not targeted
KS_TARGET = 0.2      # the target: every shape statistic's KS distance below it, in every group
REAL_SIZE = 423      # GZ1 cutouts, px
# The central crop of the 423 px cutout compared with the mock: 195 px, 4.68 petroR90 across (the
# 423 px cutout spans 10.15 petroR90). With the GZ1 framing the mock follows it; it was chosen for the
# fixed framing, as the crop whose r50 / frame width of E|S0 and Sp galaxies matches the mock's 110 px
# stamps best (193-197 px; best_crop and the report of `make realism`).
CROP = 195
GZ1_R90_PER_PX = 0.024   # GZ1 cutouts: 0.024 petroR90 per px, so the 423 px cutout spans 10.15 petroR90
BORDER = 8           # px of each edge where the sky is measured (as data.sky_sigma)
SIM_CLASSES = ("E|S0", "Sp")
STATS_SEED = 7       # seed of the mock galaxies measured against the real ones (and calibrating the stretch)
# The real sample's galaxies stand about 2.5 times higher above their sky noise than the mock's drawn as
# GZ1's galaxies at SDSS's depth: in the stretched frames the real ellipticals' median profile is 44 of
# 255 at 0.7 R90, the mock's 21 (radial_profile; `make realism` prints both). The cause is not pinned
# down (GZ1's clean classes favour bright galaxies of high surface brightness; the SDSS frame images the
# cutout service resampled may have been smoothed): the comparison takes the measured depth, the mock's
# sky noise times 0.4 (the ellipticals alone would take 0.35, the spirals 0.5).
NOISE_SCALE = 0.4
PROFILE_EDGES = (0, 3, 6, 10, 15, 20, 26, 33, 40, 47, 55)   # annuli of radial_profile, px of the 110 px frame


# ----------------------------------------------------------------------------- the real sample

@dataclass
class RealSample:
    images: np.ndarray   # (N, 110, 110) float32, JPEG blue-channel values 0..255
    groups: np.ndarray   # (N,) str, one of GROUPS
    objid: np.ndarray    # (N,) int64
    gz1_name: np.ndarray  # (N,) str
    crop: int

    def __len__(self) -> int:
        return len(self.groups)


def blue_channel(path) -> np.ndarray:
    """The g-band proxy of an SDSS colour JPEG: its blue channel (PIL reads RGB; i r g -> R G B)."""
    from PIL import Image
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"))
    return rgb[..., 2]


def frame(band: np.ndarray, crop: int = CROP, size: int = data.STAMP) -> np.ndarray:
    """The central ``crop`` x ``crop`` px of a cutout, resized (area average) to ``size`` x ``size``."""
    from PIL import Image
    h, w = band.shape
    if crop > min(h, w):
        raise ValueError(f"crop {crop} px is larger than the {h}x{w} cutout")
    y0, x0 = (h - crop) // 2, (w - crop) // 2
    cut = np.ascontiguousarray(band[y0:y0 + crop, x0:x0 + crop], dtype=np.float32)
    return np.asarray(Image.fromarray(cut, mode="F").resize((size, size), Image.Resampling.BOX), dtype=np.float32)


def read_sample(path, crop: int = CROP, size: int = data.STAMP) -> RealSample:
    """Read the real GZ1 sample: labels.csv and images/<objid>.jpeg, as (N, size, size) frames."""
    path = Path(path)
    labels_csv = path / "labels.csv"
    if not labels_csv.exists():
        raise FileNotFoundError(f"{labels_csv}: no labels file (expected columns objid, gz1_class, gz1_name)")
    table = pd.read_csv(labels_csv, dtype={"objid": np.int64, "gz1_name": str})
    missing = {"objid", "gz1_name"} - set(table.columns)
    if missing:
        raise ValueError(f"{labels_csv}: missing columns {sorted(missing)}")
    table = table[table["gz1_name"].isin(GZ1_GROUP)].reset_index(drop=True)
    images = np.empty((len(table), size, size), dtype=np.float32)
    for i, objid in enumerate(table["objid"]):
        file = path / "images" / f"{objid}.jpeg"
        if not file.exists():
            raise FileNotFoundError(f"{file}: image listed in {labels_csv} is missing")
        band = blue_channel(file)
        if band.shape != (REAL_SIZE, REAL_SIZE):
            raise ValueError(f"{file}: expected a {REAL_SIZE}x{REAL_SIZE} cutout, got {band.shape}")
        images[i] = frame(band, crop, size)
    return RealSample(images, table["gz1_name"].map(GZ1_GROUP).to_numpy(dtype=str),
                      table["objid"].to_numpy(np.int64), table["gz1_name"].to_numpy(dtype=str), crop)


# ----------------------------------------------------------------------------- the JPEG-like stretch

def sky_stats(images: np.ndarray, border: int = BORDER) -> pd.DataFrame:
    """Per image: sky level and sky noise (3-sigma-clipped mean and std of the border pixels)
    and ``peak``, the 99.5th-percentile pixel above the sky in sky sigmas."""
    from astropy.stats import sigma_clipped_stats
    images = np.asarray(images, dtype=np.float32)
    n = len(images)
    sky, _, noise = sigma_clipped_stats(data.border_pixels(images, border), sigma=3.0, maxiters=5, axis=1)
    noise = np.maximum(np.asarray(noise), 1e-6)
    peak = (np.percentile(images.reshape(n, -1), 99.5, axis=1) - sky) / noise
    return pd.DataFrame({"sky": sky, "noise": noise, "peak": peak})


def noise_acf(images: np.ndarray, border: int = BORDER, lags=(1, 2, 3)) -> pd.DataFrame:
    """Per image: the sky noise's autocorrelation at ``lags`` px along the four border strips (each
    strip median-subtracted and clipped at 3 MAD sigmas, so that a source there weighs little).
    White noise gives 0; the real GZ1 frames give about 0.8 at 1 px."""
    images = np.asarray(images, dtype=np.float64)
    rows = []
    for im in images:
        num, den = np.zeros(len(lags)), 0.0
        for strip in (im[:border], im[-border:], im[:, :border].T, im[:, -border:].T):
            strip = strip - np.median(strip)
            mad_sigma = 1.4826 * np.median(np.abs(strip))
            strip = np.clip(strip, -3 * mad_sigma, 3 * mad_sigma)
            num += [np.mean(strip[:, k:] * strip[:, :-k]) for k in lags]
            den += np.mean(strip * strip)
        rows.append(num / max(den, 1e-12))
    return pd.DataFrame(rows, columns=[f"acf{k}" for k in lags])


def radial_profile(images: np.ndarray, edges=PROFILE_EDGES) -> np.ndarray:
    """The median over images of each image's median pixel in the annuli ``edges`` (px) about its centre."""
    images = np.asarray(images, dtype=np.float32)
    n = images.shape[-1]
    yy, xx = np.mgrid[:n, :n]
    r = np.hypot(yy - (n - 1) / 2, xx - (n - 1) / 2)
    rings = [(r >= a) & (r < b) for a, b in zip(edges[:-1], edges[1:])]
    return np.median([[np.median(im[ring]) for ring in rings] for im in images], axis=0)


@dataclass(frozen=True)
class Stretch:
    """The SDSS colour JPEG made of a linear, sky-subtracted mock stamp, and its blue channel (the g
    band) as Galaxy Zoo 1 showed it, in a ``size`` px frame.

    1. **The colour composite** (Lupton et al. 2004). The g, r and i stamps (or g alone, r and i then
       its copies scaled to the galaxy's g - i colour) are balanced so that a galaxy of g - i =
       ``colour_zero`` is grey, and stretched on their mean I = (g + r + i) / 3::

           channel = sky + 255 / q * x_channel / I * asinh(I / (soften * sigma))       (R, G, B = i, r, g)

       ``sigma`` is the stamp's own g-band sky noise, so ``soften`` is the softening in sky sigmas; ``q``
       (Lupton's Q) sets where it saturates. A pixel whose brightest channel passes 255 is scaled down
       in all three until it is 255, so the blue channel of a red core is held at about 255 x (g / i,
       as balanced; :meth:`cap`): red ellipticals get flat-topped cores at about half of full scale,
       blue spirals hardly any, as the real blue channels show (peak about 125 of 255 for GZ1's
       ellipticals).
    2. **The JPEGs** (``jpeg_quality``). The 8-bit composite is a colour JPEG at its own 0.396"/px
       (``frame_jpeg``): the SDSS frame images that the DR7 cutout service resampled. Their quality is
       not recorded; 50 is where the mock ellipticals' sky noise is correlated as the real ellipticals'
       (:func:`noise_acf` at 1 px 0.86 against 0.87; 0.82 at quality 75). It is resampled (bicubic) to
       the grid the real cutout had over the same field (``jpeg_grid`` px: the real crop that matches
       the mock's frame) and written as GZ1's quality-75 colour JPEG (4:2:0, as the real files'
       quantisation tables and sampling factors are); its blue channel is averaged down to ``size`` px,
       as the real crop is. Colour JPEGs keep the luminance and blur and coarsen the colour, so the blue
       channel's sky noise becomes mostly the mean of the three bands' (90 % correlated with red and
       green in the real cutouts). The resampling, 2.5-4 times finer for a galaxy of GZ1's size,
       correlates the sky noise, and the frame JPEG's blocks before it more so (:func:`noise_acf` at
       1 px for the mock drawn as GZ1's galaxies: 0.84 for all groups together, as the real frames').
       Without ``jpeg_quality`` the blue channel is rounded to integers.

    :func:`calibrate_stretch` sets ``sky`` and ``soften`` to bring the sky level and noise, measured as
    :func:`sky_stats` does, to the real JPEGs' (the noise is met; the mock's sky level stays above the
    real one, whose frames' sky is distributed differently: README).
    """
    sky: float | tuple[float, float, float] = 3.0
    soften: float = 3.0
    q: float = 8.0
    jpeg_quality: int | None = 75
    jpeg_grid: int = CROP
    colour_zero: float = 0.35
    frame_jpeg: int | None = 50

    def g_over_i(self, g_minus_i) -> np.ndarray:
        """The g / i flux ratio as the JPEG balances the bands (1 at g - i = ``colour_zero``)."""
        return 10 ** (-0.4 * (np.asarray(g_minus_i, dtype=np.float32) - self.colour_zero))

    def cap(self, g_minus_i) -> np.ndarray:
        """Where the blue channel of a saturated pixel of this colour is held."""
        return self.sky + (255.0 - self.sky) * np.minimum(1.0, self.g_over_i(g_minus_i))

    def __call__(self, images, g_minus_i=None, size: int = data.STAMP) -> np.ndarray:
        """One g stamp (n, n), a stack of them (N, n, n) or of g, r, i stamps (N, 3, n, n), or a list of
        stamps of any sizes, each (n, n) or (3, n, n) (each its own field, as :func:`mock.galaxy` frames
        them with ``field_r90``): the blue channels, resampled through the JPEGs' grids to ``size`` px.
        ``g_minus_i`` (one per stamp) colours the g-only stamps; None: grey (g - i = ``colour_zero``)."""
        one = not isinstance(images, (list, tuple)) and np.ndim(images) == 2
        stamps = [images] if one else list(images)
        colours = [None] * len(stamps) if g_minus_i is None else list(np.atleast_1d(g_minus_i))
        out = np.stack([self._blue(np.asarray(s, dtype=np.float32), c, size) for s, c in zip(stamps, colours)])
        return out[0] if one else out

    def composite(self, stamp: np.ndarray, g_minus_i=None, sigma: float | None = None) -> np.ndarray:
        """The stretched colour image (n, n, 3; R G B = i r g; floats 0..255) of a g (n, n) or g, r, i
        (3, n, n) stamp, before the JPEGs. Its sky level and g-band sky noise are measured on its border
        (``data.sky_sigma``), or with ``sigma`` (the g-band sky noise) taken as known, the sky at 0."""
        bands = stamp if stamp.ndim == 3 else stamp[None]
        if sigma is None:
            level, measured = data.sky_sigma(bands)
            x, sigma = bands - level.reshape(-1, 1, 1), float(measured[0])
        else:
            x = bands
        sigma = max(float(sigma), 1e-12)
        if len(x) == 1:   # g only: r and i are g at the galaxy's colour
            colour = self.colour_zero if g_minus_i is None else float(g_minus_i)
            x = np.stack([x[0], x[0] * 10 ** (0.2 * colour), x[0] * 10 ** (0.4 * colour)])
        g, r, i = x[0], x[1] * 10 ** (-0.2 * self.colour_zero), x[2] * 10 ** (-0.4 * self.colour_zero)  # balanced
        u = (g + r + i) / 3 / (self.soften * sigma)
        asinh_over_u = np.ones_like(u)   # asinh(u) / u, 1 at u = 0
        lit = np.abs(u) > 1e-6
        asinh_over_u[lit] = np.arcsinh(u[lit]) / u[lit]
        rgb = np.stack([i, r, g], axis=-1) * (255.0 / (self.q * self.soften * sigma) * asinh_over_u)[..., None]
        brightest = np.maximum(rgb.max(axis=-1, keepdims=True), 1e-12)
        sky = np.asarray(self.sky, dtype=np.float32)  # one level, or one per channel (R, G, B)
        return np.clip(sky + rgb * np.minimum(1.0, (255.0 - sky.max()) / brightest), 0, 255).astype(np.float32)

    def _blue(self, stamp: np.ndarray, g_minus_i, size: int) -> np.ndarray:
        from PIL import Image
        rgb = self.composite(stamp, g_minus_i)
        if not self.jpeg_quality:
            blue = rgb[..., 2]
            if blue.shape[0] == size:
                return np.round(blue)
            big = np.asarray(Image.fromarray(blue, mode="F").resize((self.jpeg_grid,) * 2, Image.Resampling.BICUBIC))
            back = np.clip(np.round(big), 0, 255).astype(np.float32)
        else:
            back = self.jpegs(rgb)[..., 2].astype(np.float32)
        return np.asarray(Image.fromarray(back, mode="F").resize((size, size), Image.Resampling.BOX), dtype=np.float32)

    def jpegs(self, rgb: np.ndarray) -> np.ndarray:
        """A :meth:`composite` through the JPEGs: the frame JPEG at its own grid, resampled (bicubic) to
        ``jpeg_grid`` px and written as the cutout's colour JPEG; uint8 (jpeg_grid, jpeg_grid, 3)."""
        from PIL import Image
        frame = (_jpeg_round_trip(rgb, self.frame_jpeg) if self.frame_jpeg
                 else np.clip(np.round(rgb), 0, 255).astype(np.uint8))
        big = Image.fromarray(frame, mode="RGB").resize((self.jpeg_grid,) * 2, Image.Resampling.BICUBIC)
        return _jpeg_round_trip(np.asarray(big), self.jpeg_quality)


def _jpeg_round_trip(image: np.ndarray, quality: int) -> np.ndarray:
    """An 8-bit JPEG (grey (n, n) or colour (n, n, 3); colour with PIL's 4:2:0 chroma) of ``image``
    (0..255) at ``quality``, read back (uint8)."""
    import io

    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(np.clip(np.round(image), 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=int(quality))
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        return np.asarray(im)


def calibrate_stretch(mock_images: np.ndarray, target_sky: float, target_noise: float, iterations: int = 40,
                      **kwargs) -> Stretch:
    """``sky`` and ``soften`` of the stretch (other fields from ``kwargs``) that bring the mock's median
    sky level and noise, measured as :func:`sky_stats` does after the whole treatment (clipping at 0,
    JPEG, rounding), closest to the targets (the real JPEGs'). A damped fixed-point iteration on up to
    64 stamps; the best pair seen is returned. Both targets are not always reachable (the clipped sky's
    level and noise are tied), and then where it stops depends on the stamps (README)."""
    sample = mock_images[::max(1, len(mock_images) // 64)]  # every class, if grouped (a stack or a list)
    s = Stretch(**{**kwargs, "sky": target_sky, "soften": 255.0 / (kwargs.get("q", 8.0) * target_noise)})
    best, best_err = s, np.inf
    for _ in range(iterations):
        st = sky_stats(s(sample)).median()
        err = abs(st["sky"] - target_sky) / target_noise + abs(st["noise"] / target_noise - 1)
        if err < best_err:
            best, best_err = s, err
        if err < 0.01:
            break
        s = Stretch(**{**asdict(s), "sky": float(s.sky + 0.8 * (target_sky - st["sky"])),
                       "soften": float(s.soften * (st["noise"] / target_noise) ** 0.8)})
    return best


# ----------------------------------------------------------------------------- statmorph

def _segment(image: np.ndarray, noise: float):
    """(target segment as 0/1 int map, mask of the other sources) from a photutils segmentation of
    the image smoothed with a 3 px Gaussian at 1.5 sigma; the target is the source under the centre,
    else the one whose nearest pixel is closest to it."""
    from astropy.convolution import convolve
    from photutils.segmentation import detect_sources, make_2dgaussian_kernel
    smooth = convolve(image, make_2dgaussian_kernel(3.0, size=5), normalize_kernel=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # photutils warns when it finds nothing: handled below
        seg = detect_sources(smooth, 1.5 * noise, n_pixels=15)
    if seg is None:
        return None, None
    labels = seg.data
    c = (np.array(labels.shape) - 1) // 2
    target = labels[c[0], c[1]]
    if target == 0:
        yy, xx = np.nonzero(labels)
        k = np.argmin((yy - c[0]) ** 2 + (xx - c[1]) ** 2)
        target = labels[yy[k], xx[k]]
    return (labels == target).astype(np.int32), (labels > 0) & (labels != target)


def measure(image: np.ndarray) -> dict:
    """statmorph statistics of the galaxy at the centre of one stretched stamp (values 0..255).

    The stamp is sky-subtracted here (border median); the weight map is its constant sky noise.
    Returns STATISTICS (size = r50 / frame width) and ``flag``: statmorph's (0 good, 1 suspect,
    2 bad, 4 catastrophic), or -1 when no source was found or statmorph raised.
    """
    import statmorph
    image = np.asarray(image, dtype=np.float64)
    st = sky_stats(image[None]).iloc[0]
    img = image - st["sky"]
    out = {s: np.nan for s in STATISTICS} | {"flag": -1}
    try:
        segmap, mask = _segment(img, st["noise"])
        if segmap is None:
            return out
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = statmorph.source_morphology(img, segmap, mask=mask, weightmap=np.full(img.shape, st["noise"]))[0]
    except Exception:  # statmorph gives up on pathological segments: keep the galaxy, flagged
        return out
    values = {"size": m.r50 / image.shape[1], "concentration": m.concentration, "asymmetry": m.asymmetry,
              "smoothness": m.smoothness, "gini": m.gini, "m20": m.m20, "ellipticity": m.ellipticity_asymmetry}
    bad = m.flag >= 4 or any(not np.isfinite(v) or v == -99.0 for v in values.values())
    return {k: (np.nan if bad else float(v)) for k, v in values.items()} | {"flag": int(m.flag)}


def _measure_many(images):
    return [measure(im) for im in images]


def measure_all(images: np.ndarray, groups, workers: int = 1, progress: bool = True) -> pd.DataFrame:
    """:func:`measure` for every stamp (in ``workers`` processes): one row per galaxy, with ``group``."""
    from tqdm.auto import tqdm
    chunks = [images[i:i + 16] for i in range(0, len(images), 16)]
    rows = []
    with _pool(workers) as pool:
        for part in tqdm(pool.map(_measure_many, chunks), total=len(chunks), desc="statmorph",
                         disable=not progress, unit="chunk"):
            rows += part
    table = pd.DataFrame(rows, columns=[*STATISTICS, "flag"])
    table.insert(0, "group", np.asarray(groups))
    return table


def _good(table: pd.DataFrame) -> pd.DataFrame:
    """The galaxies statmorph measured well (flag 0 or 1)."""
    return table[table["flag"].between(0, 1)]


def ks_tests(real: pd.DataFrame, mock_table: pd.DataFrame, statistics=STATISTICS) -> dict:
    """Two-sample KS test per group and statistic, {"<group>/<statistic>": (D, p)}, from galaxies with
    statmorph flag 0 or 1 (groups without at least 5 good galaxies on either side are left out)."""
    real, mock_table = _good(real), _good(mock_table)
    out = {}
    for g in GROUPS:
        for s in statistics:
            a = real.loc[real["group"] == g, s].dropna().to_numpy()
            b = mock_table.loc[mock_table["group"] == g, s].dropna().to_numpy()
            if len(a) >= 5 and len(b) >= 5:
                r = ks_2samp(a, b)
                out[f"{g}/{s}"] = (float(r.statistic), float(r.pvalue))
    return out


def ks_distances(real: pd.DataFrame, mock_table: pd.DataFrame, statistics=STATISTICS) -> dict:
    """{"<group>/<statistic>": KS distance} of :func:`ks_tests`."""
    return {k: d for k, (d, _) in ks_tests(real, mock_table, statistics).items()}


def perfect_mock_odds(mock_table: pd.DataFrame, n_real: dict, threshold: float = KS_TARGET, draws: int = 200,
                      seed: int = 0, statistics=SHAPE_STATISTICS) -> dict:
    """How often a mock that *is* the real sky would meet the KS target at these sample sizes: per group,
    a "real" sample of ``n_real[group]`` galaxies and a mock of the mock's size, both drawn (with
    replacement, whole galaxies) from the mock's own galaxies, ``draws`` times; {group: {"all_below":
    share of draws with every statistic's distance below ``threshold``, "median_ks": the median
    distance}}. With a few dozen real galaxies chance alone puts distances above 0.2."""
    rng = np.random.default_rng(seed)
    table = _good(mock_table)
    out = {}
    for g, n in n_real.items():
        own = table[table["group"] == g].reset_index(drop=True)
        if n < 5 or len(own) < 5:
            continue
        worst, every = [], []
        for _ in range(draws):
            d = ks_distances(own.iloc[rng.integers(0, len(own), n)], own.iloc[rng.integers(0, len(own), len(own))],
                             statistics)
            worst.append(max(d.values()))
            every += list(d.values())
        out[g] = {"all_below": float(np.mean(np.array(worst) < threshold)), "median_ks": float(np.median(every))}
    return out


def best_crop(real_size: np.ndarray, crop: int, mock_size: np.ndarray, crops=range(101, REAL_SIZE + 1, 2)) -> tuple[int, float]:
    """The crop of the 423 px cutout whose r50 / frame width best matches the mock's (smallest KS),
    scaling sizes measured at ``crop``: a galaxy of r50 / width = f at crop c0 has f * c0 / c at c."""
    real_size, mock_size = real_size[np.isfinite(real_size)], mock_size[np.isfinite(mock_size)]
    d = {c: ks_2samp(real_size * crop / c, mock_size).statistic for c in crops}
    c = min(d, key=d.get)
    return int(c), float(d[c])


# ----------------------------------------------------------------------------- mock samples

def _render_many(args):
    seed, items, realism, field_r90, selection, noise_scale = args
    galaxies = (mock.galaxy_gri(seed, i, cls, realism, field_r90, selection, noise_scale) for i, cls in items)
    return [(im, p["g_minus_i"]) for im, p in galaxies]


def render_galaxies(seed: int, items, realism: mock.Realism = mock.Realism(), workers: int = 1,
                    field_r90: float | None = None, selection: mock.Selection = mock.NAIR_ABRAHAM,
                    noise_scale: float = 1.0):
    """The galaxies ``items`` = [(index, class), ...] of the mock set ``seed`` (drawn from
    ``selection``, their sky noise ``noise_scale`` times SDSS's), in ``workers`` processes:
    (g, r, i stamps, g - i colours). Standard stamps as a (N, 3, n, n) stack; with ``field_r90`` each
    galaxy's own field, that many Petrosian R90 across (as GZ1 frames its cutouts), as a list."""
    items = list(items)
    jobs = [(seed, items[i:i + 32], realism, field_r90, selection, noise_scale) for i in range(0, len(items), 32)]
    with _pool(workers) as pool:
        out = [x for part in pool.map(_render_many, jobs) for x in part]
    images = [im for im, _ in out]
    return (images if field_r90 else np.array(images, dtype=np.float32)), np.array([c for _, c in out], dtype=np.float32)


def _pool(workers: int):
    if workers > 1:
        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=mock._one_thread)
    return mock._Serial()


def mock_groups(n_per_group: int, seed: int = STATS_SEED, realism: mock.Realism = mock.Realism(), workers: int = 1,
                field_r90: float | None = None, selection: mock.Selection = mock.NAIR_ABRAHAM,
                noise_scale: float = 1.0):
    """``n_per_group`` mock galaxies of each group (E|S0 split as the paper's E:S0), linear stamps
    (framed as :func:`render_galaxies`). Returns (images, groups, classes, g - i colours)."""
    n_e = round(n_per_group * 2723 / (2723 + 3215))
    classes = ["E"] * n_e + ["S0"] * (n_per_group - n_e) + ["Sp"] * n_per_group + ["Irr+Misc"] * n_per_group
    images, colours = render_galaxies(seed, enumerate(classes), realism, workers, field_r90, selection, noise_scale)
    return images, np.array([MOCK_GROUP[c] for c in classes]), np.array(classes), colours


# ----------------------------------------------------------------------------- sim-to-real

def framing_name(field_r90: float | None) -> str:
    if field_r90 is None:
        return f"fixed: {data.STAMP} px of {mock.PIXEL_SCALE}\"/px, whatever the galaxy's size"
    return f"gz1: a field of {field_r90:.2f} petroR90 per galaxy, resampled to {data.STAMP} px (as the real crop)"


def balanced_accuracy(y_true, y_pred) -> float:
    """Mean recall over the classes present in ``y_true``."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean([np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]))


def train_set_name(realism: mock.Realism) -> str:
    """'mock' (every element on), 'naive' (all off) or 'mock-without-<element>'."""
    off = [f.name for f in fields(realism) if not getattr(realism, f.name)]
    if not off:
        return "mock"
    if len(off) == len(fields(realism)):
        return "naive"
    return "mock-without-" + "-".join(off)


def realism_variants(ablation: bool = True, names=None) -> list[mock.Realism]:
    """The full mock, the naive mock, then (``ablation``) the mock with one element off at a time;
    only those whose :func:`train_set_name` is in ``names`` when given."""
    full = mock.Realism()
    out = [full, mock.Realism.naive()] + ([full.without(f.name) for f in fields(full)] if ablation else [])
    if names is not None:
        unknown = set(names) - {train_set_name(r) for r in out}
        if unknown:
            raise ValueError(f"unknown training sets {sorted(unknown)}; choose from {[train_set_name(r) for r in out]}")
        out = [r for r in out if train_set_name(r) in names]
    return out


@functools.lru_cache(maxsize=1)
def _mock_set(n: int, seed: int, realism: mock.Realism, workers: int, field_r90: float | None,
              selection: mock.Selection, noise_scale: float, stretch: Stretch):
    """The E, S0 and Sp galaxies of the ``n``-galaxy mock set ``seed`` (Irr+Misc left out), rendered,
    stretched and normalised once for all the training seeds that use them: (images, 1 for Sp)."""
    from .classes import CLASSES
    names = [CLASSES[k] for k in mock.class_labels(n, seed)]
    items = [(i, c) for i, c in enumerate(names) if c != "Irr+Misc"]
    images, colours = render_galaxies(seed, items, realism, workers, field_r90, selection, noise_scale)
    return data.normalise(stretch(images, colours)), np.array([c == "Sp" for _, c in items], dtype=np.int64)


def sim_to_real(real: RealSample, stretch: Stretch, realism: mock.Realism = mock.Realism(), n_mock: int = 3000,
                profile: str = "quick", seed: int = 0, mock_seed: int = 42, workers: int = 1,
                progress: bool = True, field_r90: float | None = None,
                selection: mock.Selection = mock.NAIR_ABRAHAM, noise_scale: float = 1.0) -> dict:
    """Train C2 on a mock set alone (E and S0 together against Sp), test it on the real E|S0 and Sp.

    The mock set (``n_mock`` galaxies of ``selection`` in the paper's proportions, Irr+Misc left out;
    with ``field_r90`` each framed as GZ1 frames its cutouts; sky noise ``noise_scale`` times SDSS's)
    is stretched as the JPEGs were, then both
    sides go through ``data.normalise``; 15 % of the mock galaxies validate (early stopping). Returns
    a results record with balanced accuracy, its bootstrap 95 % interval (``ci95``) and the AUC of P(Sp).
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    from . import evaluate, train
    from .models_torch import build_model

    prof = train.profile(profile)
    name = train_set_name(realism)
    x, y = _mock_set(n_mock, mock_seed, realism, workers, field_r90, selection, noise_scale, stretch)
    tr, va = train_test_split(np.arange(len(y)), test_size=0.15, stratify=y, random_state=seed)
    train.seed_everything(seed)
    model = build_model("C2", 2, prof.input_size)
    history = train.fit(model, x[tr], y[tr], x[va], y[va], prof, seed, progress=progress)

    test = np.isin(real.groups, SIM_CLASSES)
    y_true = (real.groups[test] == "Sp").astype(np.int64)
    p_sp = evaluate.predict_proba(model, data.normalise(real.images[test]), prof.input_size)[:, 1]
    y_pred = (p_sp > 0.5).astype(np.int64)
    return evaluate.record(
        "C2", "sim-to-real", name, prof, seed, y_true, y_pred, SIM_CLASSES, n_train=len(tr),
        epochs=history.stopped_epoch, train_seconds=history.train_seconds, train_set=name,
        test_set=f"real GZ1 sample, E|S0 vs Sp, central {real.crop} px -> {data.STAMP} px",
        framing=framing_name(field_r90), selection=selection.name,
        spiral_min_r90_fwhm=selection.spiral_min_r90_fwhm, noise_scale=float(noise_scale),
        realism=asdict(realism), balanced_accuracy=balanced_accuracy(y_true, y_pred),
        ci95=list(evaluate.bootstrap_ci(y_true, y_pred, stat=balanced_accuracy)),
        auc=float(roc_auc_score(y_true, p_sp)), best_epoch=history.best_epoch, n_mock=int(n_mock),
        mock_val_accuracy=float(history.val_acc[history.best_epoch - 1]), stretch=asdict(stretch))


# ----------------------------------------------------------------------------- the command line

def _print_ks(tests: dict, odds: dict, n_real: dict, statistics=STATISTICS):
    print(f"\nKS distance (p-value), mock vs real (target < {KS_TARGET} for the shape statistics; size shown, not targeted)")
    print(f"{'group':<12}" + "".join(f"{s:>16}" for s in statistics))
    for g in GROUPS:
        cell = lambda s: "{:>8.3f} ({:.3f})".format(*tests[f"{g}/{s}"]) if f"{g}/{s}" in tests else f"{'-':>16}"
        print(f"{g:<12}" + "".join(cell(s) for s in statistics))
    for g, o in odds.items():
        print(f"a mock that is the real sky (both samples drawn from the mock's galaxies), {n_real[g]} real {g}: "
              f"every shape KS below {KS_TARGET} in {100 * o['all_below']:.0f} % of draws (median KS {o['median_ks']:.3f})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Mock against real SDSS: statmorph statistics, KS distances, "
                                             "sim-to-real C2 (writes results/realism.json, figures/mock_vs_real.png)")
    ap.add_argument("--sample", type=Path, default=data.DATA_DIR / "real_sdss_sample",
                    help="folder with labels.csv and images/ (a development reference, not part of the repository)")
    ap.add_argument("--n-mock", type=int, default=3000, help="mock galaxies per sim-to-real training set")
    ap.add_argument("--n-mock-ablation", type=int, default=None,
                    help="mock galaxies per ablation training set (mock-without-<element>); default --n-mock")
    ap.add_argument("--n-stats", type=int, default=200, help="mock galaxies per group for the statistics")
    ap.add_argument("--crop", type=int, default=CROP, help="central crop of the 423 px real cutouts (px)")
    ap.add_argument("--framing", choices=("gz1", "fixed"), default="gz1",
                    help="gz1: each mock galaxy in a field of the same petroR90 multiple as the real crop "
                         "(GZ1's framing); fixed: the mock set's own 110 px at 0.396\"/px")
    ap.add_argument("--selection", choices=tuple(mock.SELECTIONS), default=mock.GZ1.name,
                    help="the mock galaxies' sample: gz1 (the real sample's: r < 17.77, z < 0.25) or "
                         "nair-abraham (the mock set's: g < 16, z < 0.1)")
    ap.add_argument("--noise-scale", type=float, default=NOISE_SCALE,
                    help="the mock's sky noise in units of SDSS's (default: the depth measured on the real sample)")
    ap.add_argument("--profile", default="quick", help="training profile (helpers.train.PROFILES)")
    ap.add_argument("--no-ablation", action="store_true", help="train on the full and naive mock only")
    ap.add_argument("--train-sets", help="comma-separated training sets to run (e.g. mock,naive,mock-without-stars); "
                                         "default: all")
    ap.add_argument("--skip-training", action="store_true", help="statistics and figure only")
    ap.add_argument("--skip-statistics", action="store_true", help="calibrate the stretch, then sim-to-real only")
    ap.add_argument("--quick", action="store_true", help="small sizes: 40 per group, 600 mock galaxies, smoke "
                                                         "profile, no ablation (minutes)")
    ap.add_argument("--seeds", default="0,1,2", help="training seeds, comma-separated (the mock set is the same)")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--results-dir", type=Path, default=None, help="where realism.json goes (default results/)")
    args = ap.parse_args(argv)
    if not (args.sample / "labels.csv").exists():
        print(f"No real SDSS sample at {args.sample} (labels.csv and images/ expected): nothing to compare the "
              f"mock with. It is a development reference kept outside the repository; pass --sample PATH "
              f"(make realism SAMPLE=PATH).")
        return 0
    if args.quick:
        args.n_stats, args.n_mock, args.profile, args.no_ablation, args.seeds = 40, 600, "smoke", True, "0"
    import os

    from . import evaluate
    workers = args.workers or os.cpu_count() or 1
    t0 = time.perf_counter()

    field_r90 = GZ1_R90_PER_PX * args.crop if args.framing == "gz1" else None
    real = read_sample(args.sample, args.crop)
    print(f"real sample: {len(real)} galaxies ({', '.join(f'{g} {np.sum(real.groups == g)}' for g in GROUPS)}), "
          f"central {args.crop} px -> {data.STAMP} px")
    selection = mock.SELECTIONS[args.selection]
    mock_lin, mock_grp, _, mock_col = mock_groups(args.n_stats, workers=workers, field_r90=field_r90,
                                                  selection=selection, noise_scale=args.noise_scale)
    print(f"mock framing: {framing_name(field_r90)}; selection: {selection}; sky noise {args.noise_scale} x SDSS's")
    real_sky = sky_stats(real.images).join(noise_acf(real.images))
    stretch = calibrate_stretch(mock_lin, real_sky["sky"].median(), real_sky["noise"].median(), jpeg_grid=args.crop)
    mock_img = stretch(mock_lin, mock_col)
    mock_sky = sky_stats(mock_img).join(noise_acf(mock_img))
    print(f"stretch: {stretch}")
    columns = ("sky", "noise", "peak", "acf1", "acf2", "acf3")
    print(f"\n{'sky (median)':<24}{'sky /255':>10}{'noise /255':>12}{'peak (sky sigmas)':>20}"
          f"{'noise ACF at 1, 2, 3 px':>26}")
    levels = {}
    for label, st, grp in (("real", real_sky, real.groups), ("mock", mock_sky, mock_grp)):
        for g in ("all", *GROUPS):
            m = (st if g == "all" else st[grp == g]).median()
            levels[f"{label}/{g}"] = {k: float(m[k]) for k in columns}
            print(f"{label + ' ' + g:<24}{m['sky']:>10.2f}{m['noise']:>12.2f}{m['peak']:>20.1f}"
                  f"{m['acf1']:>14.2f}{m['acf2']:>6.2f}{m['acf3']:>6.2f}")
    print(f"\nmedian radial profile (of 255) in annuli {', '.join(f'{a}-{b}' for a, b in zip(PROFILE_EDGES[:-1], PROFILE_EDGES[1:]))} px")
    profiles = {}
    for label, images, grp in (("real", real.images, real.groups), ("mock", mock_img, mock_grp)):
        for g in SIM_CLASSES:
            profiles[f"{label}/{g}"] = [float(v) for v in radial_profile(images[grp == g])]
            print(f"{label + ' ' + g:<24}" + "".join(f"{v:>6.1f}" for v in profiles[f"{label}/{g}"]))

    records = []
    if not args.skip_statistics:
        records.append(_statistics(args, real, mock_img, mock_grp, stretch, levels, workers, field_r90, selection)
                       | {"radial_profile": profiles, "radial_profile_edges_px": list(PROFILE_EDGES)})
    if not args.skip_training:
        names = args.train_sets.split(",") if args.train_sets else None
        variants = realism_variants(not args.no_ablation or names is not None, names)
        print(f"\nsim-to-real: C2, E|S0 vs Sp, trained on {args.n_mock} mock galaxies ({args.profile} profile), "
              f"tested on {int(np.isin(real.groups, SIM_CLASSES).sum())} real galaxies")
        seeds = [int(x) for x in args.seeds.split(",")]
        for realism in variants:
            ablation = train_set_name(realism) not in ("mock", "naive")
            n_mock = args.n_mock_ablation if ablation and args.n_mock_ablation else args.n_mock
            for seed in seeds:
                rec = sim_to_real(real, stretch, realism, n_mock, args.profile, seed, workers=workers,
                                  progress=False, field_r90=field_r90, selection=selection,
                                  noise_scale=args.noise_scale)
                if n_mock != args.n_mock:
                    rec["notes"] = (f"ablation on a smaller mock set ({n_mock} galaxies, against {args.n_mock} for "
                                    f"mock and naive): compare it with the others at that size only roughly")
                records.append(rec)
                print(f"  {rec['train_set']:<30} seed {seed}  balanced accuracy {rec['balanced_accuracy']:.3f} "
                      f"[{rec['ci95'][0]:.3f}, {rec['ci95'][1]:.3f}]  AUC {rec['auc']:.3f}  (mock validation "
                      f"{rec['mock_val_accuracy']:.3f}, {rec['epochs']} epochs, {rec['train_seconds']:.0f} s)", flush=True)
                evaluate.write_results("realism", records, args.results_dir)  # after each training: a long run can be cut short
        _print_summary([r for r in records if r["scheme"] == "sim-to-real"])
    print(f"results: {evaluate.write_results('realism', records, args.results_dir)} ({time.perf_counter() - t0:.0f} s)")
    return 0


def _print_summary(records):
    """Mean and spread over the training seeds, per training set."""
    table = pd.DataFrame([{k: r[k] for k in ("train_set", "seed", "balanced_accuracy", "auc")} for r in records])
    summary = table.groupby("train_set", sort=False).agg(
        seeds=("seed", "size"), balanced_accuracy=("balanced_accuracy", "mean"), ba_sd=("balanced_accuracy", "std"),
        auc=("auc", "mean"), auc_sd=("auc", "std"))
    print("\nsim-to-real over the seeds (mean, sd):")
    print(summary.round(3).to_string())


def _statistics(args, real, mock_img, mock_grp, stretch, levels, workers, field_r90, selection) -> dict:
    """statmorph on both sides, the KS table, the framing check, the figure; the statistics record."""
    from . import plots
    real_stats = measure_all(real.images, real.groups, workers)
    mock_stats = measure_all(mock_img, mock_grp, workers)
    real_good, mock_good = _good(real_stats), _good(mock_stats)
    count = lambda t: {g: int(np.sum(t["group"] == g)) for g in GROUPS}
    tests = ks_tests(real_stats, mock_stats)
    ks = {k: d for k, (d, _) in tests.items()}
    n_real = count(real_good)
    odds = perfect_mock_odds(mock_stats, n_real)
    _print_ks(tests, odds, n_real)
    bad = lambda t, good: {g: n - count(good)[g] for g, n in count(t).items()}
    print(f"statmorph failures or flags >= 2: real {bad(real_stats, real_good)}, mock {bad(mock_stats, mock_good)}")
    disk_sizes = lambda good: good.loc[good["group"].isin(SIM_CLASSES), "size"]
    crop_best, crop_ks = best_crop(disk_sizes(real_good).to_numpy(), args.crop, disk_sizes(mock_good).to_numpy())
    print(f"framing: r50 / frame median real {disk_sizes(real_good).median():.3f}, "
          f"mock {disk_sizes(mock_good).median():.3f} (E|S0 and Sp); the crop that matches "
          f"the mock's sizes best is {crop_best} px (KS {crop_ks:.3f}; this run used {args.crop} px)")

    fig = plots.mock_vs_real(real.images, real.groups, mock_img, mock_grp, real_good, mock_good, tests,
                             GROUPS, STATISTICS, crop=args.crop, target=KS_TARGET)
    print(f"figure: {plots.save(fig, 'mock_vs_real')}")
    return {"model": "statmorph", "scheme": "statistics", "dataset": "mock-vs-real", "profile": "-",
            "seed": STATS_SEED, "framing": framing_name(field_r90), "selection": selection.name,
            "spiral_min_r90_fwhm": selection.spiral_min_r90_fwhm, "mergers_only": selection.mergers_only,
            "merger_min_sep_fwhm": selection.merger_min_sep_fwhm, "merger_min_r90_fwhm": selection.merger_min_r90_fwhm,
            "noise_scale": float(args.noise_scale), "ks": ks, "ks_pvalue": {k: p for k, (_, p) in tests.items()},
            "ks_perfect_mock": odds, "n_real": n_real, "n_mock": count(mock_good), "crop": args.crop,
            "best_crop": crop_best, "stretch": asdict(stretch), "sky": levels,
            "median": {f"{side}/{g}/{s}": float(t.loc[t["group"] == g, s].median())
                       for side, t in (("real", real_good), ("mock", mock_good)) for g in GROUPS for s in STATISTICS},
            "statistics": list(STATISTICS), "shape_statistics": list(SHAPE_STATISTICS)}


if __name__ == "__main__":
    sys.exit(main())
