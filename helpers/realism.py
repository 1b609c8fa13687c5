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
3. **The discriminator** (:func:`discriminate`), a classifier two-sample test: C2 learns to tell the real
   stamps from as many mock ones of each group, k-fold, so that every stamp is scored by a network that
   never saw it; the AUC of those scores says how far the mock is from the real sky (0.5: no telling them
   apart), overall and per group, and :func:`giveaways` shows the stamps it is surest about, with their
   saliency.
4. **Sim-to-real** (:func:`sim_to_real`): C2 trained on a mock set alone, E|S0 against Sp (as GZ1
   splits them), tested on the real ellipticals and spirals; mock and real alike through
   ``data.normalise`` after the stretch. Beside it its ceiling (:func:`real_trained`): the same C2 trained
   on real galaxies of the sample, k-fold, tested on the same galaxies, and the paired difference
   (:func:`gap_to_ceiling`).

The fold, AUC and paired-difference logic (:func:`stratified_folds`, :func:`cross_score`, :func:`auc`,
:func:`auc_summary`, :func:`surest`, :func:`paired_difference`) are pure functions of labels and scores,
for any mock with its own trainer.

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
DISCRIMINATOR_SEED = 11   # seed of the mock galaxies the discriminator holds against the real ones
# Mock galaxies of the larger sim-to-real training set: the mock costs nothing to draw, and 4,000 measured 3.7
# points (paired 95 %: 2.1 to 5.3) above the 823 that match the real-trained ceiling's size; 10,000 no better than
# 4,000 (+0.2, -0.8 to 1.2) at 2.5 times the cost (docs/mock.md, "Sim-to-real levers"; commit 9f4a7cb).
N_MOCK = 4000
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

    def first(self, n_per_group: int) -> "RealSample":
        """The first ``n_per_group`` galaxies of each group (in the sample's order)."""
        keep = np.sort(np.concatenate([np.nonzero(self.groups == g)[0][:n_per_group] for g in GROUPS]))
        return RealSample(self.images[keep], self.groups[keep], self.objid[keep], self.gz1_name[keep], self.crop)


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
    real one, whose frames' sky is distributed differently: docs/mock.md).
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
    level and noise are tied), and then where it stops depends on the stamps (docs/mock.md)."""
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
    seed, items, realism, field_r90, selection, noise_scale, labels = args
    galaxies = (mock.galaxy_gri(seed, i, cls, realism, field_r90, selection, noise_scale, labels=labels)
                for i, cls in items)
    return [(im, p["g_minus_i"]) for im, p in galaxies]


def render_galaxies(seed: int, items, realism: mock.Realism = mock.Realism(), workers: int = 1,
                    field_r90: float | None = None, selection: mock.Selection = mock.NAIR_ABRAHAM,
                    noise_scale: float = 1.0, labels: mock.LabelModel = mock.TRUE_LABELS):
    """The galaxies ``items`` = [(index, class), ...] of the mock set ``seed`` (drawn from
    ``selection``, their sky noise ``noise_scale`` times SDSS's; each class as ``labels`` gives it), in
    ``workers`` processes:
    (g, r, i stamps, g - i colours). Standard stamps as a (N, 3, n, n) stack; with ``field_r90`` each
    galaxy's own field, that many Petrosian R90 across (as GZ1 frames its cutouts), as a list."""
    items = list(items)
    jobs = [(seed, items[i:i + 32], realism, field_r90, selection, noise_scale, labels)
            for i in range(0, len(items), 32)]
    with _pool(workers) as pool:
        out = [x for part in pool.map(_render_many, jobs) for x in part]
    images = [im for im, _ in out]
    return (images if field_r90 else np.array(images, dtype=np.float32)), np.array([c for _, c in out], dtype=np.float32)


def _pool(workers: int):
    if workers > 1:
        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=mock._one_thread)
    return mock._Serial()


def mock_groups(n_per_group: int | dict, seed: int = STATS_SEED, realism: mock.Realism = mock.Realism(),
                workers: int = 1, field_r90: float | None = None, selection: mock.Selection = mock.NAIR_ABRAHAM,
                noise_scale: float = 1.0):
    """``n_per_group`` mock galaxies of each group (or {group: number}; E|S0 split as the paper's E:S0),
    linear stamps (framed as :func:`render_galaxies`). Returns (images, groups, classes, g - i colours)."""
    n = n_per_group if isinstance(n_per_group, dict) else dict.fromkeys(GROUPS, n_per_group)
    n_es0, n_sp, n_irr = (n.get(g, 0) for g in GROUPS)
    n_e = round(n_es0 * 2723 / (2723 + 3215))
    classes = ["E"] * n_e + ["S0"] * (n_es0 - n_e) + ["Sp"] * n_sp + ["Irr+Misc"] * n_irr
    images, colours = render_galaxies(seed, enumerate(classes), realism, workers, field_r90, selection, noise_scale)
    return images, np.array([MOCK_GROUP[c] for c in classes]), np.array(classes), colours


# ----------------------------------------------------------------------------- cross-validated scores
# Pure functions of labels, folds and scores: the discriminator (real against mock) and the real-trained
# ceiling use them here; another mock (the Galaxy10 colour mock) can use them with a trainer of its own.

def stratified_folds(strata, k: int = 5, seed: int = 0) -> np.ndarray:
    """The fold (0 .. k-1) of each item: each stratum's items (a class, or 'mock/Sp' and 'real/Sp', ...)
    are shuffled and dealt round the folds in turn, so every item is in exactly one fold and each fold
    holds each stratum's share to within one item. (N,) int64."""
    strata = np.asarray(strata)
    if k < 2 or len(strata) < k:
        raise ValueError(f"k-fold needs 2 <= k <= the number of items; k = {k}, {len(strata)} items")
    rng = np.random.default_rng(seed)
    folds = np.empty(len(strata), dtype=np.int64)
    dealt = 0
    for s in np.unique(strata):
        idx = rng.permutation(np.nonzero(strata == s)[0])
        folds[idx] = (dealt + np.arange(len(idx))) % k   # each stratum starts where the last one stopped,
        dealt += len(idx)                                # so the folds' sizes differ by one at most
    return folds


def cross_score(train_and_score, folds) -> np.ndarray:
    """Out-of-fold scores (N,): for each fold, ``train_and_score(train_idx, test_idx)`` trains on the items
    of the other folds and returns one score per item of ``test_idx`` (indices into the N items), so each
    item is scored once, by the one network that did not see it."""
    folds = np.asarray(folds)
    scores = np.full(len(folds), np.nan)
    for f in np.unique(folds):
        train_idx, test_idx = np.nonzero(folds != f)[0], np.nonzero(folds == f)[0]
        s = np.asarray(train_and_score(train_idx, test_idx), dtype=float)
        if s.shape != test_idx.shape:
            raise ValueError(f"fold {f}: {s.shape} scores for {len(test_idx)} test items")
        scores[test_idx] = s
    return scores


def auc(labels, scores) -> float:
    """Area under the ROC curve of ``scores`` for ``labels`` (1 positive, 0 negative): the chance that a
    positive item scores above a negative one, ties counting half (Mann-Whitney). 0.5: no separation."""
    from scipy.stats import rankdata
    labels, scores = np.asarray(labels).astype(bool), np.asarray(scores, dtype=float)
    n1, n0 = labels.sum(), (~labels).sum()
    if n1 == 0 or n0 == 0:
        raise ValueError(f"AUC needs both labels: {n1} positive, {n0} negative items")
    return float((rankdata(scores)[labels].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def auc_summary(labels, scores, folds, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> dict:
    """The AUC of out-of-fold ``scores``: {"auc", "ci95" (percentile bootstrap, positives and negatives
    resampled apart, so each side keeps its size), "folds" (the AUC within each fold's items, None where a
    fold lacks a side), "fold_sd" (their spread), "n_positive", "n_negative"}."""
    labels, scores, folds = np.asarray(labels).astype(bool), np.asarray(scores, dtype=float), np.asarray(folds)
    rng = np.random.default_rng(seed)
    pos, neg = np.nonzero(labels)[0], np.nonzero(~labels)[0]
    boot = [auc(labels[i], scores[i]) for i in (np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
                                               for _ in range(n_boot))]
    per_fold = [auc(labels[folds == f], scores[folds == f]) if len(set(labels[folds == f])) == 2 else None
                for f in np.unique(folds)]
    known = [a for a in per_fold if a is not None]
    return {"auc": auc(labels, scores), "ci95": [float(q) for q in np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])],
            "folds": per_fold, "fold_sd": float(np.std(known, ddof=1)) if len(known) > 1 else None,
            "n_positive": int(len(pos)), "n_negative": int(len(neg))}


def surest(labels, scores, n: int = 4, among=None) -> tuple[np.ndarray, np.ndarray]:
    """(positives scored highest, negatives scored lowest), ``n`` of each, surest first, as indices into
    all the items; ``among`` (a boolean mask) restricts the choice (to one group, say)."""
    labels, scores = np.asarray(labels).astype(bool), np.asarray(scores, dtype=float)
    among = np.ones(len(labels), dtype=bool) if among is None else np.asarray(among, dtype=bool)
    pos, neg = np.nonzero(labels & among)[0], np.nonzero(~labels & among)[0]
    return pos[np.argsort(-scores[pos], kind="stable")[:n]], neg[np.argsort(scores[neg], kind="stable")[:n]]


def paired_difference(y_true, pred_a, pred_b, stat=None, n_boot: int = 1000, seed: int = 0,
                      level: float = 0.95) -> dict:
    """``stat`` (default :func:`balanced_accuracy`) of predictions ``pred_a`` minus that of ``pred_b`` on the
    same items, each (N,) or (runs, N) (then the mean over runs, e.g. training seeds, on each side), with a
    paired percentile bootstrap interval: both sides are scored on the same resampled items, so what the
    two share (the hard galaxies) cancels. {"difference", "ci95", "a", "b"}."""
    stat = stat or balanced_accuracy
    y_true = np.asarray(y_true)
    a, b = np.atleast_2d(pred_a), np.atleast_2d(pred_b)
    if a.shape[1] != len(y_true) or b.shape[1] != len(y_true):
        raise ValueError(f"predictions for {a.shape[1]} and {b.shape[1]} items, labels for {len(y_true)}")
    mean_stat = lambda p, i: float(np.mean([stat(y_true[i], run[i]) for run in p]))
    rng = np.random.default_rng(seed)
    every = np.arange(len(y_true))
    boot = []
    for _ in range(n_boot):
        i = rng.integers(0, len(y_true), len(y_true))
        boot.append(mean_stat(a, i) - mean_stat(b, i))
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return {"difference": mean_stat(a, every) - mean_stat(b, every), "ci95": [float(lo), float(hi)],
            "a": mean_stat(a, every), "b": mean_stat(b, every)}


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
              selection: mock.Selection, noise_scale: float, stretch: Stretch,
              labels: mock.LabelModel = mock.TRUE_LABELS):
    """The E, S0 and Sp galaxies of the ``n``-galaxy mock set ``seed`` (Irr+Misc left out), rendered,
    stretched and normalised once for all the training seeds that use them: (images, 1 for Sp), the
    classes as ``labels`` gives them (the truth, or a catalogue's reading with its scatter)."""
    from .classes import CLASSES
    names = [CLASSES[k] for k in mock.class_labels(n, seed)]
    items = [(i, c) for i, c in enumerate(names) if c != "Irr+Misc"]
    images, colours = render_galaxies(seed, items, realism, workers, field_r90, selection, noise_scale, labels)
    return data.normalise(stretch(images, colours)), np.array([c == "Sp" for _, c in items], dtype=np.int64)


VAL_SHARE = 0.15   # of a network's training galaxies, held out for early stopping


def _n_fit(n_seen: int) -> int:
    """How many of ``n_seen`` training galaxies :func:`_fit_c2` fits on (the rest validate)."""
    return n_seen - int(np.ceil(VAL_SHARE * n_seen))


def mock_size_for(n_galaxies: int) -> int:
    """The smallest mock set (the paper's proportions, :func:`_mock_set`) that holds ``n_galaxies`` E, S0 and Sp."""
    from .classes import stratified_counts
    n = n_galaxies
    while n - stratified_counts(n)["Irr+Misc"] < n_galaxies:
        n += 1
    return n


def _fit_c2(x: np.ndarray, y: np.ndarray, train_idx, prof, seed: int, progress: bool = False):
    """C2, two-way, trained on the items ``train_idx`` of the normalised stamps ``x`` and labels ``y``
    (``helpers.train.fit``), 15 % of them (stratified by label) held out for early stopping: (model, history)."""
    from sklearn.model_selection import train_test_split

    from . import train
    from .models_torch import build_model
    train_idx = np.asarray(train_idx)
    tr, va = train_test_split(train_idx, test_size=VAL_SHARE, stratify=y[train_idx], random_state=seed)
    train.seed_everything(seed)
    model = build_model("C2", 2, prof.input_size)
    history = train.fit(model, x[tr], y[tr], x[va], y[va], prof, seed, progress=progress)
    return model, history


def real_disks(real: RealSample) -> tuple[np.ndarray, np.ndarray]:
    """The real galaxies every E|S0-vs-Sp network is tested on: (their indices in ``real``, 1 for Sp), in
    the sample's order (records' ``predictions`` follow it)."""
    test = np.nonzero(np.isin(real.groups, SIM_CLASSES))[0]
    return test, (real.groups[test] == "Sp").astype(np.int64)


def _sp_record(scheme: str, dataset: str, prof, seed: int, y_true, p_sp, crop: int, **extra) -> dict:
    """The record of an E|S0-vs-Sp network tested on the real galaxies: balanced accuracy with its bootstrap
    interval (``ci95``), the AUC of P(Sp), and ``predictions``, one character per galaxy tested (0 E|S0,
    1 Sp; :func:`real_disks`' order), so that two records on one sample can be compared galaxy by galaxy
    (:func:`predictions`, :func:`paired_difference`)."""
    from . import evaluate
    y_pred = (np.asarray(p_sp) > 0.5).astype(np.int64)
    return evaluate.record(
        "C2", scheme, dataset, prof, seed, y_true, y_pred, SIM_CLASSES, **extra,
        test_set=f"real GZ1 sample, E|S0 vs Sp, central {crop} px -> {data.STAMP} px",
        balanced_accuracy=balanced_accuracy(y_true, y_pred),
        ci95=list(evaluate.bootstrap_ci(y_true, y_pred, stat=balanced_accuracy)), auc=auc(y_true, p_sp),
        predictions="".join(map(str, y_pred)))


def predictions(record: dict) -> np.ndarray:
    """The per-galaxy predictions a :func:`_sp_record` holds, (n_test,) int."""
    return np.frombuffer(record["predictions"].encode(), dtype=np.uint8).astype(np.int64) - ord("0")


def sim_to_real(real: RealSample, stretch: Stretch, realism: mock.Realism = mock.Realism(), n_mock: int = 3000,
                profile: str = "quick", seed: int = 0, mock_seed: int = 42, workers: int = 1,
                progress: bool = True, field_r90: float | None = None,
                selection: mock.Selection = mock.NAIR_ABRAHAM, noise_scale: float = 1.0,
                adapt_k: int = 0, labels: mock.LabelModel = mock.TRUE_LABELS) -> list[dict]:
    """Train C2 on a mock set alone (E and S0 together against Sp), test it on the real E|S0 and Sp.

    The mock set (``n_mock`` galaxies of ``selection`` in the paper's proportions, Irr+Misc left out;
    with ``field_r90`` each framed as GZ1 frames its cutouts; sky noise ``noise_scale`` times SDSS's)
    is stretched as the JPEGs were, then both
    sides go through ``data.normalise``; 15 % of the mock galaxies validate (early stopping). Returns
    [the record]: balanced accuracy, its bootstrap 95 % interval (``ci95``), the AUC of P(Sp). With
    ``adapt_k`` a second record (dataset ``<train set>+bn``): the same network with its batch-norm statistics
    recomputed on unlabelled real stamps, never those it is tested on (:func:`adapted_scores`, ``adapt_k`` folds).
    ``labels``: the mock's true classes (the default: the test is of the pixels, and GZ1's votes are not Nair &
    Abraham's catalogue), or :data:`mock.NA10_LABELS`, as a network trained on that catalogue would learn
    (dataset ``<train set>, catalogue labels``).
    """
    from . import evaluate, train

    prof = train.profile(profile)
    name = train_set_name(realism) + ("" if labels.sigma_t == 0 else ", catalogue labels")
    x, y = _mock_set(n_mock, mock_seed, realism, workers, field_r90, selection, noise_scale, stretch, labels)
    model, history = _fit_c2(x, y, np.arange(len(y)), prof, seed, progress)
    test, y_true = real_disks(real)
    real_x = data.normalise(real.images)
    about = dict(n_train=_n_fit(len(y)), n_seen=len(y), epochs=history.stopped_epoch,
                 train_seconds=history.train_seconds, framing=framing_name(field_r90), selection=selection.name,
                 spiral_min_r90_fwhm=selection.spiral_min_r90_fwhm, noise_scale=float(noise_scale),
                 realism=asdict(realism), best_epoch=history.best_epoch, n_mock=int(n_mock),
                 mock_val_accuracy=float(history.val_acc[history.best_epoch - 1]), stretch=asdict(stretch),
                 labels=asdict(labels))
    p_sp = evaluate.predict_proba(model, real_x[test], prof.input_size)[:, 1]
    out = [_sp_record("sim-to-real", name, prof, seed, y_true, p_sp, real.crop, train_set=train_set_name(realism),
                      **about)]
    if adapt_k:
        p_bn = adapted_scores(model, real_x, test, stratified_folds(y_true, adapt_k, seed), prof, seed)
        out.append(_sp_record("sim-to-real", f"{name}+bn", prof, seed, y_true, p_bn, real.crop,
                              train_set=f"{train_set_name(realism)}+bn",
                              adaptation=f"batch-norm statistics recomputed on the unlabelled real stamps outside "
                                         f"each of {adapt_k} folds, every fold's galaxies scored by the network "
                                         f"adapted without them", **about))
    return out


def adapted_scores(model, real_x: np.ndarray, test, folds, prof, seed: int) -> np.ndarray:
    """P(Sp) of the real galaxies ``test`` (indices into the normalised stamps ``real_x``) by copies of
    ``model`` whose batch-norm statistics are recomputed (``train.recalibrate_batchnorm``) on unlabelled
    real stamps: for each fold of ``folds`` (one per galaxy of ``test``) on every stamp of ``real_x`` but
    that fold's galaxies, which it then scores. No label is used; no galaxy adapts the network that scores it."""
    import copy

    from . import evaluate, train
    test = np.asarray(test)

    def adapt_and_score(_, fold):
        adapted = copy.deepcopy(model)
        train.recalibrate_batchnorm(adapted, real_x, np.setdiff1d(np.arange(len(real_x)), test[fold]),
                                    prof.input_size, prof.batch_size, np.random.default_rng([seed, 2]))
        return evaluate.predict_proba(adapted, real_x[test[fold]], prof.input_size)[:, 1]
    return cross_score(adapt_and_score, folds)


def real_trained(real: RealSample, profile: str = "quick", seed: int = 0, k: int = 5, progress: bool = False) -> dict:
    """The ceiling of sim-to-real: the same C2, the same pipeline (``data.normalise``, ``profile``), trained
    on real E|S0 and Sp galaxies of the sample, cross-validated: ``k`` folds stratified by class, each
    fold's galaxies tested by a network trained on the other folds (15 % of them for early stopping), so
    every real galaxy is tested once. The record (scheme "real-trained") pools the out-of-fold predictions;
    ``fold_balanced_accuracy`` gives each fold's."""
    from . import evaluate, train
    prof = train.profile(profile)
    test, y = real_disks(real)
    x = data.normalise(real.images[test])
    folds = stratified_folds(y, k, seed)
    histories = []

    def train_and_score(train_idx, test_idx):
        model, history = _fit_c2(x, y, train_idx, prof, seed, progress)
        histories.append(history)
        return evaluate.predict_proba(model, x[test_idx], prof.input_size)[:, 1]
    p_sp = cross_score(train_and_score, folds)
    y_pred = (p_sp > 0.5).astype(np.int64)
    n_seen = int(np.mean([np.sum(folds != f) for f in range(k)]))
    return _sp_record("real-trained", "real", prof, seed, y, p_sp, real.crop, train_set="real", k=k,
                      n_seen=n_seen, n_train=_n_fit(n_seen),
                      epochs=int(round(np.mean([h.stopped_epoch for h in histories]))),
                      train_seconds=sum(h.train_seconds for h in histories),
                      fold_balanced_accuracy=[balanced_accuracy(y[folds == f], y_pred[folds == f]) for f in range(k)])


def gap_to_ceiling(sim: list[dict], ceiling: list[dict], y_true) -> dict:
    """Sim-to-real minus its real-trained ceiling on the same real galaxies: balanced accuracy averaged
    over each side's seeds, with a paired bootstrap interval (:func:`paired_difference`). A record
    (scheme "sim-to-real-gap", dataset the mock's training set, seed the seeds of both sides)."""
    diff = paired_difference(y_true, [predictions(r) for r in sim], [predictions(r) for r in ceiling])
    seeds = lambda rs: ",".join(str(r["seed"]) for r in rs)
    return {"model": "C2", "scheme": "sim-to-real-gap", "dataset": sim[0]["dataset"], "profile": sim[0]["profile"],
            "seed": f"{seeds(sim)} vs {seeds(ceiling)}", "train_set": sim[0]["train_set"], "n_mock": sim[0].get("n_mock"),
            "n_seen": sim[0].get("n_seen"), "ceiling_n_seen": ceiling[0].get("n_seen"), "n_test": len(y_true),
            "balanced_accuracy": diff["a"], "ceiling_balanced_accuracy": diff["b"],
            "difference": diff["difference"], "ci95": diff["ci95"]}


# ----------------------------------------------------------------------------- the discriminator

def discriminate(real_x: np.ndarray, real_groups, mock_x: np.ndarray, mock_groups, name: str, profile: str = "quick",
                 seed: int = 0, k: int = 5, progress: bool = False) -> tuple[dict, dict]:
    """A classifier two-sample test: C2 (two-way, ``profile``) learns to tell real stamps (0) from mock
    ones (1), both normalised (``data.normalise``) and framed alike. The stamps are split into ``k`` folds
    stratified by side and group (:func:`stratified_folds`); each fold is scored by a network trained on
    the others (15 % of them for early stopping), so every stamp is scored once by a network that never
    saw it. The AUC of these out-of-fold scores P(mock) is the verdict: 0.5, the mock cannot be told from
    the real sky; 1, always.

    Returns (record, detail): the record (scheme "discriminator", dataset ``name``): ``auc`` with its
    bootstrap ``ci95``, each fold's AUC (``folds``, ``fold_sd``) and the same per group (``groups``), beside
    the usual metrics of the calls at P(mock) > 0.5; detail: the stamps ``x``, ``is_mock``, ``groups``,
    ``folds``, ``scores`` and each fold's network (``models``), for :func:`giveaways`."""
    from . import evaluate, train
    prof = train.profile(profile)
    x = np.concatenate([real_x, mock_x])
    is_mock = np.r_[np.zeros(len(real_x), np.int64), np.ones(len(mock_x), np.int64)]
    groups = np.concatenate([np.asarray(real_groups, dtype=str), np.asarray(mock_groups, dtype=str)])
    folds = stratified_folds(np.char.add(np.where(is_mock == 1, "mock/", "real/"), groups), k, seed)
    models, histories = {}, []

    def train_and_score(train_idx, test_idx):
        model, history = _fit_c2(x, is_mock, train_idx, prof, seed, progress)
        models[int(folds[test_idx[0]])] = model
        histories.append(history)
        print(f"    {name}: fold {len(histories)} of {k}, {history.stopped_epoch} epochs, {history.train_seconds:.0f} s",
              flush=True)
        return evaluate.predict_proba(model, x[test_idx], prof.input_size)[:, 1]
    scores = cross_score(train_and_score, folds)
    summary = auc_summary(is_mock, scores, folds, seed=seed)
    per_group = {g: auc_summary(is_mock[groups == g], scores[groups == g], folds[groups == g], seed=seed)
                 for g in GROUPS if len(set(is_mock[groups == g])) == 2}
    n_seen = int(np.mean([np.sum(folds != f) for f in range(k)]))
    record = evaluate.record(
        "C2", "discriminator", name, prof, seed, is_mock, (scores > 0.5).astype(np.int64), ("real", "mock"),
        n_train=_n_fit(n_seen), epochs=int(round(np.mean([h.stopped_epoch for h in histories]))),
        train_seconds=sum(h.train_seconds for h in histories), n_seen=n_seen, k=k, train_set=name,
        **{key: summary[key] for key in ("auc", "ci95", "folds", "fold_sd")},
        n_real=summary["n_negative"], n_mock=summary["n_positive"], groups=per_group)
    return record, {"x": x, "is_mock": is_mock, "groups": groups, "folds": folds, "scores": scores, "models": models,
                    "input_size": prof.input_size}


def stamp_statistics(images: np.ndarray) -> pd.DataFrame:
    """Simple per-stamp statistics of stretched frames (0..255) that a discriminator could read: the sky
    level over the sky noise and the share of the border pixels at 0 (how the sky is clipped), the sky
    noise's autocorrelation at 1 px, the 99.5th-percentile pixel in sky sigmas (:func:`sky_stats`)."""
    st = sky_stats(images).join(noise_acf(images, lags=(1,)))
    return pd.DataFrame({"sky / noise": st["sky"] / st["noise"], "sky at 0": (data.border_pixels(images) == 0).mean(1),
                         "noise ACF 1 px": st["acf1"], "peak": st["peak"]})


def giveaways(detail: dict, n: int = 4) -> dict:
    """What gives the mock away, per group: the ``n`` mock stamps the discriminator is surest are mock and
    the ``n`` real ones it is surest are real (:func:`surest`), each with the saliency (integrated gradients
    and Grad-CAM, ``interpret.saliency``) of the class it gave them, by the fold's network that scored it.
    {group: {"index" (into the detail's stamps), "is_mock", "score", "stamps" (the network's centre view),
    "integrated_gradients", "gradcam"}}."""
    from . import interpret
    out = {}
    for g in GROUPS:
        if g not in set(detail["groups"]):
            continue
        picked = np.concatenate(surest(detail["is_mock"], detail["scores"], n, among=detail["groups"] == g))
        batch = interpret.input_batch(detail["x"], picked, detail["input_size"])
        maps = [interpret.saliency(detail["models"][int(detail["folds"][i])], batch[j:j + 1], detail["is_mock"][i])
                for j, i in enumerate(picked)]
        out[g] = {"index": picked, "is_mock": detail["is_mock"][picked], "score": detail["scores"][picked],
                  "stamps": batch[:, 0].numpy(),
                  **{m: np.concatenate([s[m] for s in maps]) for m in ("integrated_gradients", "gradcam")}}
    return out


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
    ap.add_argument("--n-mock", default="matched",
                    help="mock galaxies per sim-to-real training set: a number, or 'matched', the size whose E, S0 and "
                         "Sp number as many as the real-trained ceiling's training galaxies (the fair comparison)")
    ap.add_argument("--n-mock-large", type=int, default=N_MOCK,
                    help="the full mock is also trained on this many mock galaxies (0: not)")
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
    ap.add_argument("--skip-discriminator", action="store_true", help="no discriminator (real against mock)")
    ap.add_argument("--folds", type=int, default=5, help="k of the k-fold cross-validations over the real galaxies "
                                                         "(discriminator, real-trained ceiling, adaptation)")
    ap.add_argument("--catalogue-labels", action=argparse.BooleanOptionalAction, default=True,
                    help="train the full mock also on its catalogue labels (Nair & Abraham's scatter), beside the "
                         "true classes it is drawn as")
    ap.add_argument("--adapt", action=argparse.BooleanOptionalAction, default=False,
                    help="also score the mock and naive networks with batch-norm statistics from unlabelled real "
                         "stamps (never those they are tested on)")
    ap.add_argument("--n-real", type=int, default=None, help="the first N real galaxies of each group only "
                                                               "(default: all)")
    ap.add_argument("--quick", action="store_true", help="small sizes: 40 mock galaxies per group, 60 real ones, "
                                                         "600 mock galaxies to train on, 3 folds, smoke profile, no "
                                                         "ablation (minutes)")
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
        args.n_stats, args.n_mock_large, args.profile, args.no_ablation, args.seeds = 40, 600, "smoke", True, "0"
        args.n_real, args.folds = 60, 3
    import os

    from . import evaluate
    workers = args.workers or os.cpu_count() or 1
    t0 = time.perf_counter()

    field_r90 = GZ1_R90_PER_PX * args.crop if args.framing == "gz1" else None
    real = read_sample(args.sample, args.crop)
    real = real.first(args.n_real) if args.n_real else real
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
    stage = _stages(t0)
    stage("real sample, mock galaxies, stretch")
    if not args.skip_statistics:
        records.append(_statistics(args, real, mock_img, mock_grp, stretch, levels, workers, field_r90, selection)
                       | {"radial_profile": profiles, "radial_profile_edges_px": list(PROFILE_EDGES)})
        stage("statistics")
    seeds = [int(x) for x in args.seeds.split(",")]
    if not args.skip_discriminator:
        records += _discriminator(args, real, stretch, workers, field_r90, selection, seeds[0])
        evaluate.write_results("realism", records, args.results_dir)
        stage("discriminator")
    if not args.skip_training:
        _, y_true = real_disks(real)
        print(f"\nthe ceiling: C2, E|S0 vs Sp, trained on real galaxies of the sample ({args.folds}-fold cross-"
              f"validation over {len(y_true)}, {args.profile} profile)")
        ceiling = []
        for seed in seeds:
            rec = real_trained(real, args.profile, seed, args.folds)
            ceiling.append(rec)
            print(f"  real-trained  seed {seed}  balanced accuracy {rec['balanced_accuracy']:.3f} [{rec['ci95'][0]:.3f}, "
                  f"{rec['ci95'][1]:.3f}]  AUC {rec['auc']:.3f}  (folds {', '.join(f'{v:.3f}' for v in rec['fold_balanced_accuracy'])}; "
                  f"{rec['n_seen']} galaxies each, {rec['train_seconds']:.0f} s)", flush=True)
        records += ceiling
        evaluate.write_results("realism", records, args.results_dir)
        stage("real-trained ceiling")
        names = args.train_sets.split(",") if args.train_sets else None
        variants = realism_variants(not args.no_ablation or names is not None, names)
        matched = mock_size_for(ceiling[0]["n_seen"])
        n = matched if args.n_mock == "matched" else int(args.n_mock)
        print(f"\nsim-to-real: C2, E|S0 vs Sp, trained on {n} mock galaxies ({matched} hold as many E, S0 and Sp as "
              f"the ceiling's {ceiling[0]['n_seen']} real ones), the full mock also on {args.n_mock_large}; "
              f"{args.profile} profile; tested on the {len(y_true)} real galaxies")
        for realism in variants:
            ablation = train_set_name(realism) not in ("mock", "naive")
            runs = [(n, mock.TRUE_LABELS)]
            if train_set_name(realism) == "mock":   # the full mock also larger, and on the catalogue's labels
                runs += [(args.n_mock_large, mock.TRUE_LABELS)] * (args.n_mock_large not in (0, n))
                runs += [(n, mock.NA10_LABELS)] * args.catalogue_labels
            for n_mock, labels in runs:
                for seed in seeds:
                    recs = sim_to_real(real, stretch, realism, n_mock, args.profile, seed, workers=workers,
                                       progress=False, field_r90=field_r90, selection=selection,
                                       noise_scale=args.noise_scale, adapt_k=0 if ablation or not args.adapt else args.folds,
                                       labels=labels)
                    for rec in recs:
                        if n_mock != n:  # one record per (training set, size)
                            rec["dataset"] = f"{rec['dataset']}, {n_mock}"
                        print(f"  {rec['dataset']:<30} seed {seed}  balanced accuracy {rec['balanced_accuracy']:.3f} "
                              f"[{rec['ci95'][0]:.3f}, {rec['ci95'][1]:.3f}]  AUC {rec['auc']:.3f}  (mock validation "
                              f"{rec['mock_val_accuracy']:.3f}, {rec['epochs']} epochs, {rec['train_seconds']:.0f} s)",
                              flush=True)
                    records += recs
                    evaluate.write_results("realism", records, args.results_dir)  # a long run can be cut short
        sim = [r for r in records if r["scheme"] == "sim-to-real"]
        _print_summary(sim + ceiling)
        print("\nsim-to-real minus the real-trained ceiling, on the same real galaxies (paired bootstrap 95 %):")
        for dataset in dict.fromkeys(r["dataset"] for r in sim):
            gap = gap_to_ceiling([r for r in sim if r["dataset"] == dataset], ceiling, y_true)
            records.append(gap)
            print(f"  {dataset:<30} {100 * gap['balanced_accuracy']:.1f} % - {100 * gap['ceiling_balanced_accuracy']:.1f} % "
                  f"= {100 * gap['difference']:+.1f} points [{100 * gap['ci95'][0]:+.1f}, {100 * gap['ci95'][1]:+.1f}]")
        stage("sim-to-real")
    print(f"results: {evaluate.write_results('realism', records, args.results_dir)} ({time.perf_counter() - t0:.0f} s)")
    return 0


def what_is_missing(records: list[dict]) -> str:
    """Markdown for notebook 01, every number read from ``records`` (results/realism.json): how the mock's
    sky and shapes measure against the real galaxies, which statistics differ most, where the sample is too
    small to verify the target, and how far sim-to-real is from its ceiling and from the naive mock."""
    stats = next((r for r in records if r["scheme"] == "statistics"), None)
    runs = lambda name: [r for r in records if r["scheme"] == "sim-to-real" and r["dataset"] == name]
    ba = lambda rs: np.array([r["balanced_accuracy"] for r in rs])
    out = []
    if stats:
        sky, ks, med = stats["sky"], stats["ks"], stats["median"]
        acf = ", ".join(f"{g} {sky[f'mock/{g}']['acf1']:.2f} against {sky[f'real/{g}']['acf1']:.2f}" for g in GROUPS
                        if f"mock/{g}" in sky and "acf1" in sky[f"mock/{g}"])
        shape = stats["shape_statistics"]
        below = {g: sum(ks[f"{g}/{s}"] < KS_TARGET for s in shape) for g in GROUPS}
        out.append(f"The sky noise is correlated between neighbouring pixels as the real (mock against real: {acf}). "
                   f"{sum(below.values())} of the {len(shape) * len(GROUPS)} shape statistics are within the target KS "
                   f"distance of {KS_TARGET} (" + ", ".join(f"{g} {n} of {len(shape)}" for g, n in below.items()) + ").")
        if "radial_profile" in stats:
            rp = stats["radial_profile"]
            diff = {g: np.subtract(rp[f"mock/{g}"], rp[f"real/{g}"]) for g in SIM_CLASSES}
            out.append("The median radial profiles differ by at most " + " and ".join(
                f"{np.max(np.abs(d)):.0f} of 255 for {g} ({'fainter' if d[np.argmax(np.abs(d))] < 0 else 'brighter'} "
                f"in the mock there)" for g, d in diff.items()) + ".")
        worst = []
        for g in GROUPS:
            s = max(shape, key=lambda s: ks[f"{g}/{s}"])
            worst.append(f"{g} {s} ({med[f'mock/{g}/{s}']:.2f} in the mock against {med[f'real/{g}/{s}']:.2f}, "
                         f"KS {ks[f'{g}/{s}']:.2f})")
        out.append("The largest distance per group: " + "; ".join(worst) + ".")
        odds = stats.get("ks_perfect_mock", {})
        thin = [g for g, o in odds.items() if o["all_below"] < 0.5]
        if thin:
            out.append(f"A mock that *is* the real sky would keep every shape distance below {KS_TARGET} for "
                       + ", ".join(f"the {stats['n_real'][g]} real {g} in {100 * odds[g]['all_below']:.0f} %" for g in thin)
                       + " of draws only: there the target cannot be verified on this sample.")
    mock_runs, ceiling = runs("mock"), [r for r in records if r["scheme"] == "real-trained"]
    if mock_runs:
        recall = lambda k: [r["confusion_normalised"][k][k] for r in mock_runs]
        text = (f"Trained on the mock alone, C2 reaches {100 * ba(mock_runs).mean():.1f} % balanced accuracy on the real "
                f"galaxies over {len(mock_runs)} seeds ({100 * ba(mock_runs).min():.1f} to {100 * ba(mock_runs).max():.1f} %); "
                f"it recognises {100 * min(recall(0)):.0f}-{100 * max(recall(0)):.0f} % of the real ellipticals and "
                f"{100 * min(recall(1)):.0f}-{100 * max(recall(1)):.0f} % of the real spirals")
        if ceiling:
            text += f", where the same C2 trained on real galaxies reaches {100 * ba(ceiling).mean():.1f} %"
        out.append(text + ".")
        catalogue = runs("mock, catalogue labels")
        if catalogue:
            out.append(f"Trained on the catalogue's labels instead (Nair & Abraham's scatter, the classes a network "
                       f"trained on that catalogue learns), {100 * ba(catalogue).mean():.1f} % "
                       f"({100 * (ba(catalogue).mean() - ba(mock_runs).mean()):+.1f} points).")
        naive = runs("naive")
        if naive:
            d = 100 * (ba(mock_runs).mean() - ba(naive).mean())
            half = 100 * 1.96 * np.sqrt(0.25 / mock_runs[0]["n_test"])   # one run's sampling error at 50 %
            out.append(f"The naive mock (every sky element off, the same selection and image chain) reaches "
                       f"{100 * ba(naive).mean():.1f} %: {d:+.1f} points for the realism elements, "
                       + ("within" if abs(d) < half else "beyond") + f" one run's sampling error of about {half:.1f} points "
                       f"on {mock_runs[0]['n_test']} galaxies.")
    return " ".join(out) or "No statistics or sim-to-real in `results/realism.json` yet: run `make realism`."


def _stages(t0: float):
    """A function that prints how long each stage took (and the time since ``t0``)."""
    last = [t0]

    def stage(name: str):
        now = time.perf_counter()
        print(f"[{name}: {now - last[0]:.0f} s; {now - t0:.0f} s in all]", flush=True)
        last[0] = now
    return stage


def _discriminator(args, real, stretch, workers, field_r90, selection, seed: int) -> list[dict]:
    """The discriminator for the mock and the naive mock (as many mock galaxies per group as real ones,
    drawn with :data:`DISCRIMINATOR_SEED`), the figure of what gives the mock away; the records."""
    from . import plots
    counts = {g: int(np.sum(real.groups == g)) for g in GROUPS}
    real_x = data.normalise(real.images)
    print(f"\ndiscriminator: C2 tells {len(real)} real stamps from as many mock ones ({args.folds}-fold, "
          f"{args.profile} profile, seed {seed})")
    records, details = [], {}
    real_stats = stamp_statistics(real.images)
    for realism in (mock.Realism(), mock.Realism.naive()):
        lin, groups, _, colours = mock_groups(counts, DISCRIMINATOR_SEED, realism, workers, field_r90, selection,
                                              args.noise_scale)
        name = train_set_name(realism)
        stamps = stretch(lin, colours)
        rec, details[name] = discriminate(real_x, real.groups, data.normalise(stamps), groups, name,
                                          args.profile, seed, args.folds)
        both = pd.concat([real_stats, stamp_statistics(stamps)], ignore_index=True)
        is_mock, grp = details[name]["is_mock"], details[name]["groups"]
        rec["statistic_auc"] = {g: {k: auc(is_mock[grp == g], both[k].to_numpy()[grp == g]) for k in both}
                                for g in GROUPS if np.any(grp == g)}
        records.append(rec)
        print(f"  {name:<8} AUC {rec['auc']:.3f} [{rec['ci95'][0]:.3f}, {rec['ci95'][1]:.3f}] (folds sd "
              f"{rec['fold_sd']:.3f}); " + ", ".join(f"{g} {s['auc']:.3f} [{s['ci95'][0]:.3f}, {s['ci95'][1]:.3f}]"
                                                   for g, s in rec["groups"].items()), flush=True)
        print("           one statistic alone (AUC; below 0.5: lower in the mock): " + "; ".join(
            f"{g} " + ", ".join(f"{k} {v:.2f}" for k, v in a.items()) for g, a in rec["statistic_auc"].items()))
    shown = giveaways(details["mock"])
    n_real = len(real)
    records[0]["surest"] = {g: {"mock_index": [int(i) - n_real for i, m in zip(p["index"], p["is_mock"]) if m],
                                "real_objid": [int(real.objid[i]) for i, m in zip(p["index"], p["is_mock"]) if not m]}
                            for g, p in shown.items()}
    fig = plots.discriminator({r["dataset"]: r for r in records}, shown)
    print(f"figure: {plots.save(fig, 'discriminator')}")
    return records


def _print_summary(records):
    """Mean and spread over the training seeds, per training set and size."""
    table = pd.DataFrame([{k: r[k] for k in ("dataset", "seed", "balanced_accuracy", "auc")} for r in records])
    summary = table.groupby("dataset", sort=False).agg(
        seeds=("seed", "size"), balanced_accuracy=("balanced_accuracy", "mean"), ba_sd=("balanced_accuracy", "std"),
        auc=("auc", "mean"), auc_sd=("auc", "std"))
    print("\nsim-to-real, and its real-trained ceiling, over the seeds (mean, sd):")
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
