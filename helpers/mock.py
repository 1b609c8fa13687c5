"""The offline mock SDSS g-band galaxies, rendered with GalSim.

Each galaxy is drawn from a physical recipe, not a cartoon:

1. A stellar mass and a redshift (0.01 < z < 0.1) are drawn per class and kept only if the galaxy
   would pass the Nair & Abraham selection, g < 16 (a flux-limited sample, so massive galaxies are
   seen further away). Apparent magnitude follows from a class mass-to-light ratio, the half-light
   radius from the size-mass relations of Shen et al. (2003) with their scatter.
2. Structure per class, with overlapping ranges between neighbouring classes:
   E: de Vaucouleurs-like Sersic bulge (n 3-5.5), round to E4, a third with a faint disk (B/T > 0.8);
   S0: bulge + smooth exponential disk, B/T rising with mass, any inclination, some bars, the S0/a
   ones with a hint of arms; Sp: bulge + disk + logarithmic arms whose strength, pitch and knots rise
   with T-type, bars, dust lanes when edge-on; Irr+Misc: clumpy asymmetric dwarfs (T = 10) and
   mergers / peculiars (T = 99: two overlapping galaxies with a tidal tail).
3. Sersic bulge, disk, bar and neighbours are drawn with GalSim (real-space, 2x oversampled); the
   disk is modulated by the arm pattern, star-forming knots and dust in the galaxy plane, convolved
   with a GalSim Moffat PSF (FWHM about 1.4"), binned to SDSS pixels (0.396"/px), and given sky +
   Poisson noise at SDSS g depth with GalSim's CCDNoise.
4. The real sky around it (each element switchable in ``Realism`` and recorded per galaxy): field
   stars with PSF wings (a few saturated, with spikes and halo), neighbouring and background galaxies,
   an off-centre target, a satellite trail or a field edge now and then.

In g, r and i (:func:`galaxy_gri`, for the comparison with SDSS's colour JPEGs in ``helpers.realism``)
the same galaxy has colour gradients: a red bulge, the disk at its type's colour, blue young light.

Images are stored sky-subtracted in nanomaggies (1 nMgy = g of 22.5), as SDSS calibrated frames are.
Every galaxy has its own random stream seeded by (seed, index): the same seed gives byte-identical
images whatever the number of worker processes.
"""
from __future__ import annotations

import functools
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import galsim
import numpy as np
from tqdm.auto import tqdm

from . import data
from .classes import CLASS_INDEX, CLASSES, PAPER_COUNTS, stratified_counts, ttype_to_class

PIXEL_SCALE = 0.396     # arcsec per SDSS pixel
OVERSAMPLE = 2          # drawn at 0.198"/px, then binned 2x2 (the pixel response)
E_PER_NMGY = 1270.0     # electrons per nanomaggy in a 53.9 s SDSS g exposure (gain ~4.7 e-/DN)
SKY_MAG = 21.9          # g-band sky surface brightness, mag / arcsec^2 (dark time, high latitude)
SATURATION_NMGY = 40.0  # per pixel: about 50,000 e-, where an SDSS pixel saturates
SERSIC_N = np.arange(0.5, 6.01, 0.25)  # GalSim caches Sersic tables per n: quantise n
C_KMS, H0 = 299792.458, 70.0
# Bumped whenever a change of the recipe changes the images: written as the HDF5 attribute
# ``generator_version`` by build(); ensure() rebuilds a cached file made by another version.
GENERATOR_VERSION = 4


@dataclass(frozen=True)
class Realism:
    """The elements of the real sky beyond the galaxy itself; all on by default."""
    stars: bool = True        # field stars with PSF wings, a few saturated with spikes and halo
    neighbours: bool = True   # neighbouring and background galaxies, some overlapping
    offcentre: bool = True    # target shifted from the centre of the cutout
    arms_blur: bool = True    # arms range from clear to unresolved (flocculent, thick, faint)
    dust: bool = True         # dust lanes in inclined disks
    bars: bool = True
    artefacts: bool = True    # satellite trails, the edge of a field

    @classmethod
    def naive(cls) -> "Realism":
        return cls(**{f.name: False for f in fields(cls)})

    def without(self, element: str) -> "Realism":
        return Realism(**{**asdict(self), element: False})


@dataclass(frozen=True)
class Selection:
    """Which galaxies a sample holds: brighter than ``g_limit`` (g mag), at redshifts in ``z_range``
    (drawn uniformly in volume); its spirals only where their Petrosian R90 spans at least
    ``spiral_min_r90_fwhm`` seeing FWHM (a sample labelled by eye keeps the spirals whose disk it resolves);
    with ``mergers_only``, its Irr+Misc galaxies are mergers, their companion at least ``merger_min_sep_fwhm``
    seeing FWHM from the target (a sample labelled by eye calls a merger what shows two galaxies), and
    resolved as its spirals are: their R90 at least ``merger_min_r90_fwhm`` seeing FWHM."""
    name: str
    g_limit: float
    z_range: tuple[float, float]
    spiral_min_r90_fwhm: float = 0.0
    mergers_only: bool = False
    merger_min_sep_fwhm: float = 0.0
    merger_min_r90_fwhm: float = 0.0


# The paper's catalogue (the mock set): Nair & Abraham (2010), g < 16 (extinction-corrected), 0.01 < z < 0.1.
NAIR_ABRAHAM = Selection("nair-abraham", 16.0, (0.01, 0.1))
# Galaxy Zoo 1's galaxies: the SDSS main spectroscopic sample, r < 17.77 (g about 0.6 mag fainter for
# these colours), nearly all at z < 0.25. About twice as far as Nair & Abraham's, so about half their
# angular size: the cutout service upsampled them about 2.5-4 times to GZ1's 0.024 petroR90 per px.
# GZ1's volunteers called a galaxy a spiral when they saw which way its arms wind (or a thin disk edge-on):
# its spirals are the resolved ones. Without a cut the real spirals' frames are less upsampled than the
# mock's (their sky noise less correlated, helpers.realism.noise_acf); with R90 >= 5 seeing FWHM the mock
# spirals' sky correlation is the real ones' (README, "The mock against the real sky").
# GZ1 had no irregular class: its "merger" votes went to what showed two galaxies, so its Irr+Misc are
# mergers whose companion lies 1.5 seeing FWHM or more away (two peaks, not one lumpy blob), and resolved
# as its spirals are: with R90 >= 3 seeing FWHM the mock mergers' sky correlation is the real ones'.
GZ1 = Selection("gz1", 18.4, (0.01, 0.25), spiral_min_r90_fwhm=5.0, mergers_only=True, merger_min_sep_fwhm=1.5,
                merger_min_r90_fwhm=3.0)
SELECTIONS = {s.name: s for s in (NAIR_ABRAHAM, GZ1)}


@dataclass(frozen=True)
class LabelModel:
    """How a catalogue's T-type departs from the galaxy's own: Nair & Abraham classified by eye, and experts
    looking at the same galaxy disagree.

    The catalogue T-type (``ttype``) is the true one (``ttype_true``, the type the galaxy is drawn as) plus
    Gaussian scatter of ``sigma_t`` T-types, rounded to the nearest type of the catalogue's axis
    (:data:`CATALOGUE_AXIS`: -5, then -3 .. 10). Naim et al. (1995, MNRAS 274, 1107) had six experts classify
    the same 831 galaxies: two experts differ by 1.3 to 2.3 T-types rms, typically 1.8, so one expert
    scatters about the truth by 1.8 / sqrt(2) = 1.3 (0.9 to 1.6). Near a class boundary (E/S0 at T = -4,
    S0/Sp at 0.5, Sp/Irr at 9.5) the catalogue class is then partly a coin toss: at 1.3 an elliptical is
    catalogued S0 in 22 % of cases. Peculiar galaxies (T = 99) are not on the T axis: a merger shows two
    galaxies and is catalogued 99. ``sigma_t`` 0 gives the true labels.
    """
    name: str
    sigma_t: float


NA10_LABELS = LabelModel("nair-abraham", 1.3)
TRUE_LABELS = LabelModel("true", 0.0)
CATALOGUE_AXIS = np.array([-5, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])


# Per-galaxy metadata stored beside the image (the /meta table of the HDF5 file).
# ttype is the catalogue's T-type (the label comes from it, as from Nair & Abraham's column in the real set),
# ttype_true the one the galaxy was drawn as (:class:`LabelModel`).
META_DTYPE = np.dtype([
    ("ttype", "i2"), ("ttype_true", "i2"), ("z", "f4"), ("log_mstar", "f4"), ("g_mag", "f4"), ("abs_mag_g", "f4"),
    ("r_half_kpc", "f4"), ("r_half_arcsec", "f4"), ("bulge_fraction", "f4"), ("bulge_n", "f4"),
    ("bulge_q", "f4"), ("disk_n", "f4"), ("inclination_deg", "f4"), ("disk_q", "f4"), ("position_angle_deg", "f4"),
    ("arm_strength", "f4"), ("arm_pitch_deg", "f4"), ("n_arms", "i1"), ("arm_sharpness", "f4"),
    ("knot_fraction", "f4"), ("clumpiness", "f4"), ("lopsidedness", "f4"), ("bar_strength", "f4"), ("dust_strength", "f4"),
    ("merger", "i1"), ("psf_fwhm_arcsec", "f4"), ("sky_sigma_nmgy", "f4"), ("snr", "f4"),
    ("offset_x_px", "f4"), ("offset_y_px", "f4"), ("n_stars", "i2"), ("saturated_star", "i1"),
    ("n_neighbours", "i2"), ("trail", "i1"), ("field_edge", "i1"), ("g_minus_i", "f4"),
])


# ----------------------------------------------------------------------------- physics of the sample

def angular_diameter_distance_kpc(z: float) -> float:
    """Flat LCDM (Omega_m 0.3, H0 70) to better than 0.5 % for z < 0.1, by a short integral."""
    zz = np.linspace(0.0, z, 64)
    inv_e = 1.0 / np.sqrt(0.3 * (1 + zz) ** 3 + 0.7)
    d_c = C_KMS / H0 * np.trapezoid(inv_e, zz) * 1e3
    return d_c / (1 + z)


def _distance_modulus(z: float) -> float:
    d_l_pc = angular_diameter_distance_kpc(z) * (1 + z) ** 2 * 1e3
    return 5 * np.log10(d_l_pc / 10.0)


def _size_kpc(rng, log_m: float, early: bool) -> float:
    """Half-light radius from Shen et al. (2003) size-mass relations, with their scatter."""
    m = 10 ** log_m
    if early:
        r = 2.88e-6 * m ** 0.56
        scatter = 0.13
    else:
        r = 0.1 * m ** 0.14 * (1 + m / 3.98e10) ** (0.39 - 0.14)
        scatter = 0.18
    return r * 10 ** rng.normal(0, scatter)


# log10 M*/Msun per class (mean, sd, min, max) and log10 of the g-band mass-to-light ratio.
MASS = {"E": (10.9, 0.35, 9.8, 12.0), "S0": (10.7, 0.35, 9.6, 11.7),
        "Sp": (10.4, 0.45, 9.0, 11.5), "Irr+Misc": (9.4, 0.6, 8.0, 11.2)}
LOG_ML_G = {"E": 0.75, "S0": 0.65, "Sp": 0.35, "Irr+Misc": 0.05}
M_SUN_G = 5.11


def _mass_and_distance(rng, cls: str, selection: Selection) -> tuple[float, float, float, float]:
    """Draw (log M*, z, g, M_g) until the galaxy passes the selection; z weighted by volume."""
    mu, sd, lo, hi = MASS[cls]
    (z0, z1), g_limit = selection.z_range, selection.g_limit
    for _ in range(1000):
        log_m = float(np.clip(rng.normal(mu, sd), lo, hi))
        z = float(z0 + (z1 - z0) * rng.random() ** (1 / 3))
        abs_mag = M_SUN_G - 2.5 * (log_m - LOG_ML_G[cls])
        g = abs_mag + _distance_modulus(z)
        if g < g_limit:
            return log_m, z, g, abs_mag
    raise RuntimeError(f"could not draw a {cls} galaxy brighter than g = {g_limit}")


def _ttype(rng, cls: str) -> int:
    """A true T-type of class ``cls``, as the catalogue's types are distributed within it."""
    if cls == "E":
        return -5
    if cls == "S0":
        return int(rng.choice([-3, -2, -1, 0], p=[0.2, 0.35, 0.2, 0.25]))
    if cls == "Sp":  # Nair & Abraham's spirals peak at Sb-Sbc
        return int(rng.choice(np.arange(1, 10), p=[.13, .15, .17, .18, .13, .10, .07, .04, .03]))
    return int(rng.choice([10, 99], p=[0.55, 0.45]))


def catalogue_ttype(rng, t_true: int, labels: LabelModel) -> int:
    """The T-type an expert gives a galaxy of true type ``t_true`` (:class:`LabelModel`)."""
    if t_true == 99 or labels.sigma_t == 0:
        return int(t_true)
    seen = t_true + rng.normal(0.0, labels.sigma_t)
    return int(CATALOGUE_AXIS[np.argmin(np.abs(CATALOGUE_AXIS - seen))])


# The mix of true classes a catalogue class is drawn from: the catalogue's own proportions.
_TRUE_CLASS_PRIOR = np.array([PAPER_COUNTS[c] for c in CLASSES], dtype=float) / sum(PAPER_COUNTS.values())


def draw_ttypes(rng, cls: str, labels: LabelModel) -> tuple[int, int]:
    """(true, catalogue) T-types of a galaxy that the catalogue puts in class ``cls``: a true type drawn from
    the catalogue's mix of types, kept when the expert's reading of it falls in ``cls``. So a set keeps the
    catalogue's class counts, and each catalogue class holds the galaxies that scatter into it."""
    for _ in range(10000):
        t_true = _ttype(rng, CLASSES[rng.choice(len(CLASSES), p=_TRUE_CLASS_PRIOR)])
        t_cat = catalogue_ttype(rng, t_true, labels)
        if ttype_to_class(t_cat) == cls:
            return t_true, t_cat
    raise RuntimeError(f"no true T-type scatters into {cls} under {labels}")


# ----------------------------------------------------------------------------- parameters

def draw_parameters(rng: np.random.Generator, cls: str, realism: Realism,
                    selection: Selection = NAIR_ABRAHAM, ttype: int | None = None) -> dict:
    """All physical and observational parameters of one galaxy of true class ``cls`` (of T-type ``ttype``,
    else one drawn for the class) in ``selection`` (drawn again until it is a galaxy the selection keeps:
    :func:`_kept`). Its ``ttype`` and ``ttype_true`` are the same: :func:`galaxy` sets the catalogue's."""
    for _ in range(1000):
        p = _draw_parameters(rng, cls, _ttype(rng, cls) if ttype is None else int(ttype), realism, selection)
        if _kept(p, cls, selection):
            return p
    raise RuntimeError(f"could not draw a {cls} galaxy that {selection} keeps")


def _kept(p: dict, cls: str, selection: Selection) -> bool:
    """Whether a sample labelled by eye keeps the galaxy ``p``: a spiral whose R90 spans
    ``spiral_min_r90_fwhm`` seeing FWHM, a merger whose R90 spans ``merger_min_r90_fwhm`` and whose companion
    can lie ``merger_min_sep_fwhm`` away (:data:`MERGER_SEPARATION`), and no Irr+Misc galaxy but a merger
    with ``mergers_only``."""
    fwhm = p["psf_fwhm_arcsec"]
    resolved = lambda min_fwhm: not min_fwhm or petrosian_radii(p)[1] >= min_fwhm * fwhm
    if cls == "Sp":
        return resolved(selection.spiral_min_r90_fwhm)
    if cls == "Irr+Misc" and p["merger"]:
        return (MERGER_SEPARATION[1] * p["r_half_arcsec"] >= selection.merger_min_sep_fwhm * fwhm
                and resolved(selection.merger_min_r90_fwhm))
    return cls != "Irr+Misc" or not selection.mergers_only


def _draw_parameters(rng: np.random.Generator, cls: str, t: int, realism: Realism, selection: Selection) -> dict:
    p = {name: 0 for name in META_DTYPE.names}
    p["ttype"] = p["ttype_true"] = t
    p["log_mstar"], p["z"], p["g_mag"], p["abs_mag_g"] = _mass_and_distance(rng, cls, selection)
    early = cls in ("E", "S0")
    p["r_half_kpc"] = _size_kpc(rng, p["log_mstar"], early)
    kpc_per_arcsec = angular_diameter_distance_kpc(p["z"]) / 206264.8
    p["r_half_arcsec"] = p["r_half_kpc"] / kpc_per_arcsec
    p["position_angle_deg"] = rng.uniform(0, 180)
    p["inclination_deg"] = np.degrees(np.arccos(rng.random()))  # isotropic orientations
    p["bulge_q"] = 1.0
    p["disk_n"] = 1.0
    p["disk_q"] = _projected_q(p["inclination_deg"], 0.12)
    p["psf_fwhm_arcsec"] = float(np.clip(rng.normal(1.4, 0.18), 1.0, 2.0))

    if cls == "E":
        p["bulge_n"] = rng.uniform(2.5, 5.0)
        p["bulge_q"] = float(np.clip(1 - abs(rng.normal(0, 0.22)), 0.55, 1.0))
        p["bulge_fraction"] = 1.0 if rng.random() < 0.75 else rng.uniform(0.85, 0.98)  # disky Es
    elif cls == "S0":
        p["bulge_n"] = rng.uniform(2.0, 4.5)
        p["bulge_q"] = rng.uniform(0.65, 1.0)
        # B/T rises with mass: the massive, bulge-dominated lenticulars look like ellipticals.
        p["bulge_fraction"] = float(np.clip(rng.normal(0.5 + 0.3 * (p["log_mstar"] - 10.7), 0.13), 0.15, 0.92))
        if t == 0:  # S0/a: a hint of arms
            p["arm_strength"] = rng.uniform(0.0, 0.15)
        if realism.bars and rng.random() < 0.2:
            p["bar_strength"] = rng.uniform(0.05, 0.2)
        # Type II disks are rarer in lenticulars than in late spirals (Gutierrez et al. 2011), not absent.
        if rng.random() < 0.3:
            p["disk_n"] = rng.uniform(0.55, 0.9)
    elif cls == "Sp":
        p["bulge_n"] = rng.uniform(1.0, 4.0)
        p["bulge_q"] = rng.uniform(0.7, 1.0)
        p["bulge_fraction"] = float(np.clip(rng.normal(0.5 - 0.055 * t, 0.1), 0.0, 0.7))
        # Early spirals (Sa) have smooth, tightly wound, weak arms that overlap the S0/a ones.
        p["arm_strength"] = float(np.clip(rng.normal(0.12 + 0.05 * t, 0.1), 0.05, 0.8))
        p["arm_pitch_deg"] = float(np.clip(rng.normal(8 + 2.5 * t, 4), 5, 40))
        # Real SDSS spirals are patchy and lopsided (m = 1 is common) even where the arms are not
        # resolved: their asymmetry, smoothness and M20 are well above a smooth disk's.
        p["knot_fraction"] = float(np.clip(rng.normal(0.03 + 0.012 * t, 0.03), 0, 0.2))
        p["clumpiness"] = float(np.clip(rng.normal(0.06 + 0.025 * t, 0.06), 0, 0.35))
        p["lopsidedness"] = rng.uniform(0.0, 0.25)
        # Most late-type disks bend down outside (Type II, Pohlen & Trujillo 2006): flatter than exponential inside.
        p["disk_n"] = rng.uniform(0.55, 0.9)
        if realism.bars and rng.random() < 0.35:
            p["bar_strength"] = rng.uniform(0.05, 0.3)
    else:  # Irr+Misc
        p["bulge_n"] = rng.uniform(0.5, 1.5)
        p["bulge_fraction"] = rng.uniform(0.0, 0.2)
        p["clumpiness"] = rng.uniform(0.3, 0.8)
        p["knot_fraction"] = rng.uniform(0.1, 0.4)
        p["lopsidedness"] = rng.uniform(0.2, 0.7)
        p["merger"] = int(t == 99)
        if t == 99:
            p["bulge_fraction"] = rng.uniform(0.2, 0.8)
            p["bulge_n"] = rng.uniform(1.5, 4.0)
            p["clumpiness"] = rng.uniform(0.05, 0.3)
            p["lopsidedness"] = rng.uniform(0.0, 0.3)
            p["arm_strength"] = rng.uniform(0.0, 0.3)

    if p["arm_strength"] > 0:
        p["n_arms"] = int(rng.choice([2, 2, 2, 3, 4]))
        p["arm_pitch_deg"] = p["arm_pitch_deg"] or rng.uniform(8, 20)
        # Sharp, well-defined arms (grand design) or broad, washed-out ones (flocculent, unresolved).
        p["arm_sharpness"] = rng.uniform(0.5, 4.0) if realism.arms_blur else 4.0
    if realism.dust and cls in ("Sp", "S0") and p["inclination_deg"] > 65:
        p["dust_strength"] = rng.uniform(0.2, 0.8) * (1.0 if cls == "Sp" else 0.3)
    p["bulge_n"] = float(SERSIC_N[np.argmin(abs(SERSIC_N - p["bulge_n"]))])

    sky_mag = SKY_MAG + rng.normal(0, 0.25)
    sky_nmgy = 10 ** (-0.4 * (sky_mag - 22.5)) * PIXEL_SCALE ** 2
    p["sky_sigma_nmgy"] = np.sqrt(sky_nmgy * E_PER_NMGY) / E_PER_NMGY
    flux = 10 ** (-0.4 * (p["g_mag"] - 22.5))
    aperture_px = np.pi * (2 * p["r_half_arcsec"] / PIXEL_SCALE) ** 2 + 20
    p["snr"] = 0.75 * flux / (p["sky_sigma_nmgy"] * np.sqrt(aperture_px))  # ~S/N within 2 r_half

    if realism.offcentre:
        scale = 1.5 if rng.random() < 0.9 else 6.0
        p["offset_x_px"], p["offset_y_px"] = np.clip(rng.normal(0, scale, 2), -15, 15)
    # Integrated g - i colour (SDSS, z < 0.1): it does not change the g image, but it sets where an
    # SDSS colour JPEG saturates the galaxy's blue channel (helpers.realism.Stretch).
    t_col = {"E": 1.20, "S0": 1.13}.get(cls, 1.05 - 0.05 * max(t, 0) if cls == "Sp" else (0.6 if t == 10 else 0.9))
    p["g_minus_i"] = float(rng.normal(t_col, 0.06 if early else 0.12))
    return p


# g - r and r - i of each light component (SDSS colours of the red sequence, of disks and of HII regions).
COLOURS = {"old": (0.78, 0.40), "S0_disk": (0.70, 0.36), "knots": (0.15, 0.00)}


def disk_colour(ttype: int) -> tuple[float, float]:
    """Disk g - r, r - i: lenticular, then from Sa to the blue Sd and irregulars, g - r 0.62 - 0.035 T
    (a merger's disks as an Sc's)."""
    if ttype <= 0:
        return COLOURS["S0_disk"]
    t = 5 if ttype == 99 else ttype
    return 0.62 - 0.035 * t, 0.30 - 0.015 * t


def band_factor(colour, band) -> float:
    """Flux in ``band`` per unit g flux for a component with colours (g - r, r - i)."""
    gr, ri = colour
    return {"g": 1.0, "r": 10 ** (0.4 * gr), "i": 10 ** (0.4 * (gr + ri))}[band]


def _projected_q(inclination_deg: float, q0: float) -> float:
    """Apparent axis ratio of an oblate disk of intrinsic thickness q0 (Hubble 1926)."""
    c = np.cos(np.radians(inclination_deg))
    return float(np.sqrt(c * c + q0 * q0 * (1 - c * c)))


# ----------------------------------------------------------------------------- rendering

@functools.lru_cache(maxsize=4)
def _grid(n: int, scale: float):
    c = ((np.arange(n) - (n - 1) / 2) * scale).astype(np.float32)  # float32: twice as fast here
    x, y = np.meshgrid(c, c)  # x, y in arcsec, read-only: shared by every galaxy of a process
    x.flags.writeable = y.flags.writeable = False
    return x, y


def _draw(profile, n: int, scale: float) -> np.ndarray:
    return profile.drawImage(nx=n, ny=n, scale=scale, method="no_pixel").array


def _galaxy_plane(x, y, pa_deg, q, dx, dy):
    """Sky (arcsec) -> galaxy-plane coordinates of a disk with axis ratio q at position angle pa."""
    a = np.radians(pa_deg)
    xs, ys = x - dx, y - dy
    xr = xs * np.cos(a) + ys * np.sin(a)
    yr = -xs * np.sin(a) + ys * np.cos(a)
    return xr, yr / q, yr


def _disk_light(rng, p: dict, flux: float, hlr: float, n: int, scale: float, dx: float, dy: float):
    """Exponential disk x (arms, knots, clumps, bar) x dust, in the galaxy plane, drawn on the grid:
    (its light, the young part of it: the arms' and clumps' excess over the smooth disk, and the knots)."""
    x, y = _grid(n, scale)
    xg, yg, ysky = _galaxy_plane(x, y, p["position_angle_deg"], p["disk_q"], dx, dy)
    r_d = hlr / 1.678
    r = np.hypot(xg, yg) + 1e-6
    phi = np.arctan2(yg, xg)
    light = smooth = _disk_profile(r, hlr, p["disk_n"])
    if p["arm_strength"] > 0:
        phase = p["n_arms"] * (phi - np.log(r / r_d) / np.tan(np.radians(p["arm_pitch_deg"])))
        wave = ((1 + np.cos(phase + rng.uniform(0, 2 * np.pi))) / 2) ** p["arm_sharpness"]
        wave /= wave.mean()
        taper = 1 - np.exp(-(r / (0.6 * r_d)) ** 2)  # arms fade into the bulge
        amp = min(p["arm_strength"], 1.0) * taper
        light = light * ((1 - amp) + amp * wave)
    if p["clumpiness"] > 0:  # smooth random patchiness: star formation not on a clean pattern
        patch = _upsample(rng.normal(size=(8, 8)), n) + 0.7 * _upsample(rng.normal(size=(16, 16)), n)
        light = light * np.clip(1 + 1.5 * p["clumpiness"] * patch, 0.05, None)
    if p["lopsidedness"] > 0:  # an m = 1 asymmetry, growing outwards
        light = light * (1 + p["lopsidedness"] * np.tanh(r / r_d) * np.cos(phi - rng.uniform(0, 2 * np.pi)))
    young = np.clip(light - smooth, 0, None)
    if p["bar_strength"] > 0:
        bar_a = np.radians(rng.uniform(0, 180))
        xb = xg * np.cos(bar_a) + yg * np.sin(bar_a)
        yb = -xg * np.sin(bar_a) + yg * np.cos(bar_a)
        bar = np.exp(-((xb / (0.9 * r_d)) ** 2 + (yb / (0.22 * r_d)) ** 2) ** 1.5)
        light = light + p["bar_strength"] * 4 * bar * light.max()
    norm = flux / light.sum()
    light, young = light * norm, young * norm
    k = rng.poisson(8 + 40 * p["knot_fraction"]) if p["knot_fraction"] > 0 else 0
    if k > 0:  # HII regions: point-like knots placed where the disk light is (none drawn: no knots)
        w = light.ravel() ** 1.5
        idx = rng.choice(light.size, size=k, p=w / w.sum())
        fluxes = rng.pareto(1.5, k) + 1
        knots = np.zeros(light.size)
        np.add.at(knots, idx, fluxes)
        knots = knots.reshape(light.shape)
        knots = knots * (p["knot_fraction"] * flux / fluxes.sum())
        light = light * (1 - p["knot_fraction"]) + knots
        young = young * (1 - p["knot_fraction"]) + knots
    if p["dust_strength"] > 0:  # a lane along the major axis, displaced to the near side
        h = 0.12 * r_d
        lane = np.exp(-((ysky - 0.25 * h) / h) ** 2) * np.exp(-(r / (3 * r_d)) ** 2)
        light = light * (1 - p["dust_strength"] * lane)
        young = young * (1 - p["dust_strength"] * lane)
    return light, young


def _disk_profile(r, hlr: float, n: float):
    """A disk's surface brightness at radius ``r``: a Sersic profile of index ``n`` (1: exponential;
    below 1: flatter inside, steeper outside, as the Type II disks of most late spirals) and half-light radius ``hlr``."""
    from scipy.special import gammaincinv
    return np.exp(-gammaincinv(2 * n, 0.5) * (r / hlr) ** (1 / n))


def _upsample(field: np.ndarray, n: int) -> np.ndarray:
    """Smooth upsampling of a coarse m x m random field to n x n: linear interpolation along the rows,
    then along the columns, in np.interp's arithmetic (slope * (x - x_j) + y_j; the same values)."""
    m = field.shape[0]
    src = np.linspace(0, m - 1, n)
    j = np.minimum(src.astype(np.intp), m - 2)
    t = src - j
    rows = (field[:, j + 1] - field[:, j]) * t + field[:, j]
    rows[:, -1] = field[:, -1]  # np.interp returns the last point itself
    out = (rows[j + 1] - rows[j]) * t[:, None] + rows[j]
    out[-1] = rows[-1]
    return out


def _fft_convolve(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``scipy.signal.fftconvolve(image, kernel, mode="same")``, its very FFTs without its checks."""
    from scipy import fft
    full = [a + b - 1 for a, b in zip(image.shape, kernel.shape)]
    shape = [fft.next_fast_len(k, True) for k in full]
    conv = fft.irfftn(fft.rfftn(image, shape) * fft.rfftn(kernel, shape), shape)
    y0, x0 = [(f - s) // 2 for f, s in zip(full, image.shape)]
    return conv[y0:y0 + image.shape[0], x0:x0 + image.shape[1]].copy()


def half_light_radii(p) -> tuple[float, float]:
    """Half-light radii (arcsec) of the bulge and of the disk of the galaxy ``p``: a pure bulge has
    the galaxy's, a bulge beside a disk is smaller (0.2-0.6 of it, growing with B/T), the disk larger."""
    hlr, bt = p["r_half_arcsec"], p["bulge_fraction"]
    bulge = hlr if bt >= 0.999 else hlr * np.clip(0.25 + 0.4 * bt, 0.2, 0.6)
    return max(bulge, 0.15), hlr * (1.0 + 0.3 * bt)


def _body(rng, p: dict, flux: float, n: int, scale: float, dx: float = 0.0, dy: float = 0.0,
          parts: dict | None = None) -> np.ndarray:
    """Bulge (GalSim Sersic) + disk (exponential with structure) of one galaxy, no PSF. With ``parts``,
    its bulge, disk and young light (:func:`_disk_light`) are added to theirs."""
    bt = p["bulge_fraction"]
    bulge_hlr, disk_hlr = half_light_radii(p)
    out = np.zeros((n, n))
    if bt > 0:
        bulge = galsim.Sersic(p["bulge_n"], half_light_radius=bulge_hlr, flux=bt * flux)
        bulge = bulge.shear(q=p["bulge_q"], beta=p["position_angle_deg"] * galsim.degrees).shift(dx, dy)
        out += _draw(bulge, n, scale)
    if parts is not None:
        parts["bulge"] = parts["bulge"] + out
    if bt < 1:
        disk, young = _disk_light(rng, p, (1 - bt) * flux, disk_hlr, n, scale, dx, dy)
        out += disk
        if parts is not None:
            parts["disk"], parts["young"] = parts["disk"] + disk - young, parts["young"] + young
    return out


# A merger's companion lies 0.7-2.2 half-light radii of the target from it.
MERGER_SEPARATION = (0.7, 2.2)


def _tidal_tail(rng, p: dict, flux: float, n: int, scale: float) -> np.ndarray:
    """A faint curved tail from a merger: a Gaussian-profile arc."""
    x, y = _grid(n, scale)
    r0 = p["r_half_arcsec"] * rng.uniform(1.5, 3.0)
    a0 = rng.uniform(0, 2 * np.pi)
    t = np.linspace(0, rng.uniform(1.0, 2.5), 60)
    ax, ay = r0 * (1 + 0.5 * t) * np.cos(a0 + t), r0 * (1 + 0.5 * t) * np.sin(a0 + t)
    width = 0.3 * r0
    img = np.zeros((n, n))
    for cx, cy in zip(ax, ay):
        img += np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * width ** 2))
    return img * flux / max(img.sum(), 1e-12)


def render(p: dict, rng: np.random.Generator, realism: Realism, stamp: int = data.STAMP) -> np.ndarray:
    """One noisy, sky-subtracted g-band cutout (stamp x stamp, nanomaggies) of the galaxy ``p``.

    Updates ``p`` in place with what was added around it (stars, neighbours, artefacts); their number
    per unit sky area does not depend on ``stamp``.
    """
    return _observe(_scene(p, rng, realism, stamp), p, rng, realism, stamp)


def _scene(p: dict, rng: np.random.Generator, realism: Realism, stamp: int, parts: dict | None = None,
           min_sep_arcsec: float = 0.0) -> np.ndarray:
    """The noiseless g-band sky of :func:`render` (nanomaggies): galaxy, neighbours, PSF, stars, trail.
    With ``parts`` (a dict), the galaxy's (and a merger's companion's) ``bulge``, ``disk`` and ``young``
    light are put in it, seen as the scene is (PSF, pixels); the rest of the scene is what they leave.
    A merger's companion lies at least ``min_sep_arcsec`` from it."""
    n = stamp * OVERSAMPLE
    scale = PIXEL_SCALE / OVERSAMPLE
    flux = 10 ** (-0.4 * (p["g_mag"] - 22.5))
    dx, dy = p["offset_x_px"] * PIXEL_SCALE, p["offset_y_px"] * PIXEL_SCALE
    if parts is not None:
        parts.update(bulge=0.0, disk=0.0, young=0.0)
    img = _body(rng, p, flux, n, scale, dx, dy, parts)
    if p["merger"]:  # a companion of comparable brightness, overlapping, and a tidal tail
        comp = dict(p, bulge_fraction=rng.uniform(0.1, 1.0), arm_strength=0.0, knot_fraction=0.0,
                    position_angle_deg=rng.uniform(0, 180), disk_q=rng.uniform(0.3, 1.0),
                    r_half_arcsec=p["r_half_arcsec"] * rng.uniform(0.5, 1.0))
        lo, hi = MERGER_SEPARATION
        sep = p["r_half_arcsec"] * rng.uniform(max(lo, min_sep_arcsec / p["r_half_arcsec"]), hi)
        ang = rng.uniform(0, 2 * np.pi)
        img += _body(rng, comp, flux * rng.uniform(0.3, 1.0), n, scale,
                     dx + sep * np.cos(ang), dy + sep * np.sin(ang), parts)
        img += _tidal_tail(rng, p, flux * rng.uniform(0.03, 0.1), n, scale)
    if realism.neighbours:
        img += _neighbours(rng, p, n, scale)

    psf = galsim.Moffat(beta=3.0, fwhm=p["psf_fwhm_arcsec"])
    kernel = _draw(psf, 41, scale)
    kernel = kernel / kernel.sum()
    seen = lambda light: _fft_convolve(light, kernel).reshape(stamp, OVERSAMPLE, stamp, OVERSAMPLE).sum(axis=(1, 3))
    img = seen(img)  # the PSF, then the pixel response
    if parts is not None:
        parts.update({k: seen(v) if np.ndim(v) else np.zeros_like(img) for k, v in parts.items()})
    if realism.stars:
        img += _stars(rng, p, stamp)
    if realism.artefacts and rng.random() < _chance(0.015, stamp):
        img += _trail(rng, p, stamp)
        p["trail"] = 1
    return img


def _observe(img: np.ndarray, p: dict, rng: np.random.Generator, realism: Realism, stamp: int) -> np.ndarray:
    """The noiseless sky ``img`` as the g-band CCD saw it: sky and Poisson noise, saturation, a field's edge."""
    sky_e = (p["sky_sigma_nmgy"] * E_PER_NMGY) ** 2
    gimg = galsim.ImageF(np.ascontiguousarray(np.clip(img, 0, None) * E_PER_NMGY, dtype=np.float32))
    noise_seed = int(rng.integers(1, 2**31 - 1))
    gimg.addNoise(galsim.CCDNoise(galsim.BaseDeviate(noise_seed), sky_level=sky_e, gain=1.0, read_noise=5.0))
    out = gimg.array / E_PER_NMGY
    out = np.minimum(out, SATURATION_NMGY)
    if realism.artefacts and rng.random() < _chance(0.02, stamp):  # a field's edge: no data beyond
        side, depth = rng.integers(4), rng.integers(round(5 * stamp / data.STAMP), round(25 * stamp / data.STAMP))
        sl = [np.s_[:depth, :], np.s_[-depth:, :], np.s_[:, :depth], np.s_[:, -depth:]][side]
        out[sl] = 0.0
        p["field_edge"] = 1
    return out.astype(np.float32)


def _area(stamp: int) -> float:
    """Sky area of a stamp in units of the standard one (1.0 exactly for data.STAMP)."""
    return (stamp / data.STAMP) ** 2


def _chance(standard: float, stamp: int) -> float:
    """Probability that something seen in a standard stamp with probability ``standard`` falls in this one."""
    return 1 - (1 - standard) ** _area(stamp)


def _neighbours(rng, p: dict, n: int, scale: float) -> np.ndarray:
    """Background galaxies (faint, small) and now and then a bright neighbour near the target."""
    img = np.zeros((n, n))
    half = n * scale / 2
    near = data.STAMP * OVERSAMPLE * scale / 2  # a bright companion's distance does not grow with the stamp
    k = rng.poisson(3.0 * _area(n // OVERSAMPLE))
    bright = rng.random() < 0.3  # close companions: bright galaxies are often in groups
    for i in range(k + bright):
        is_bright = bright and i == k
        mag = p["g_mag"] + (rng.uniform(0.5, 3.0) if is_bright else rng.uniform(2.5, 7.0))
        hlr = (p["r_half_arcsec"] * rng.uniform(0.3, 0.8)) if is_bright else rng.uniform(0.4, 2.5)
        pos = rng.uniform(-0.5, 0.5, 2) * near if is_bright else rng.uniform(-1, 1, 2) * half
        gal = galsim.Sersic(float(rng.choice([1.0, 1.5, 2.5, 4.0])), half_light_radius=hlr,
                            flux=10 ** (-0.4 * (mag - 22.5)))
        gal = gal.shear(q=rng.uniform(0.3, 1.0), beta=rng.uniform(0, 180) * galsim.degrees)
        img += _draw(gal.shift(*pos), n, scale)
    p["n_neighbours"] = k + bright
    return img


def _stars(rng, p: dict, stamp: int) -> np.ndarray:
    """Field stars: PSF core with Moffat wings; a saturated one (rarely) gets spikes and a halo."""
    img = np.zeros((stamp, stamp))
    k = rng.poisson(0.5 * _area(stamp))  # about 3000 stars per square degree to g = 22.5 at high latitude
    saturated = rng.random() < _chance(0.04, stamp)
    fwhm = p["psf_fwhm_arcsec"]
    for i in range(k + saturated):
        mag = rng.uniform(10.5, 13.5) if (saturated and i == k) else 22.5 - 2.5 * np.log10(rng.pareto(0.8) * 2 + 1) - rng.uniform(0, 2)
        flux = 10 ** (-0.4 * (mag - 22.5))
        pos = rng.uniform(-0.5, 0.5, 2) * stamp * PIXEL_SCALE
        star = galsim.Add(galsim.Moffat(beta=3.0, fwhm=fwhm, flux=0.9 * flux),
                          galsim.Moffat(beta=2.0, fwhm=3 * fwhm, flux=0.1 * flux))
        img += _draw(star.shift(*pos), stamp, PIXEL_SCALE)
        if saturated and i == k:
            cx, cy = pos / PIXEL_SCALE + (stamp - 1) / 2
            yy, xx = np.mgrid[:stamp, :stamp]
            length = rng.uniform(5, 15)
            spike = (np.exp(-np.abs(xx - cx) / length) * np.exp(-((yy - cy) / 0.8) ** 2)
                     + np.exp(-np.abs(yy - cy) / length) * np.exp(-((xx - cx) / 0.8) ** 2))
            img += spike * flux * 5e-4
    p["n_stars"] = k + saturated
    p["saturated_star"] = int(saturated)
    return img


def _trail(rng, p: dict, stamp: int) -> np.ndarray:
    """A satellite trail: a straight line across the frame with the PSF's width."""
    yy, xx = np.mgrid[:stamp, :stamp] - (stamp - 1) / 2
    a = rng.uniform(0, np.pi)
    d = np.abs(xx * np.sin(a) - yy * np.cos(a) - rng.uniform(-40, 40) * stamp / data.STAMP)
    sigma = p["psf_fwhm_arcsec"] / PIXEL_SCALE / 2.355
    return np.exp(-0.5 * (d / sigma) ** 2) * rng.uniform(0.2, 2.0) * p["sky_sigma_nmgy"] * 10


# ----------------------------------------------------------------------------- the data set

def galaxy(seed: int, index: int, cls: str, realism: Realism = Realism(),
           field_r90: float | None = None, selection: Selection = NAIR_ABRAHAM, *,
           labels: LabelModel = TRUE_LABELS) -> tuple[np.ndarray, dict]:
    """Galaxy number ``index`` of the set made with ``seed``: (image, parameters), a galaxy that ``labels``
    puts in class ``cls`` (by default its true class; with :data:`NA10_LABELS` the catalogue's, as the mock
    set's labels are: the galaxy is then drawn as its true type ``p["ttype_true"]``).

    The stamp is the standard ``data.STAMP`` px, or with ``field_r90`` a field of that many Petrosian
    R90 across (:func:`petrosian_radii`) at the same 0.396"/px, as Galaxy Zoo frames its cutouts: the
    same galaxy, the same parameters, only the field around it (and what falls in it) differs.
    ``selection`` puts the galaxy in another sample (:data:`GZ1`: fainter, farther, smaller).
    """
    image, _, p = _observed(seed, index, cls, realism, field_r90, selection, labels)
    return image, p


def _observed(seed, index, cls, realism, field_r90, selection, labels, parts=None) -> tuple[np.ndarray, np.ndarray, dict]:
    """(g image, the noiseless sky behind it, parameters) of :func:`galaxy`; ``parts`` as :func:`_scene`'s."""
    rng = np.random.default_rng([seed, index])
    if labels.sigma_t == 0:
        p = draw_parameters(rng, cls, realism, selection)
    else:
        t_true, t_catalogue = draw_ttypes(rng, cls, labels)
        p = draw_parameters(rng, ttype_to_class(t_true), realism, selection, ttype=t_true)
        p["ttype"] = t_catalogue
    stamp = data.STAMP if field_r90 is None else gz_stamp(p, field_r90)
    scene = _scene(p, rng, realism, stamp, parts, selection.merger_min_sep_fwhm * p["psf_fwhm_arcsec"])
    return _observe(scene, p, rng, realism, stamp), scene, p


# Sky noise per pixel in r and i over g's, in nanomaggies: SDSS DR7's 95 % completeness limits for point
# sources are g 22.2, r 22.2, i 21.3 (Abazajian et al. 2009).
BAND_NOISE = {"g": 1.0, "r": 1.0, "i": 10 ** (0.4 * 0.9)}


def galaxy_gri(seed: int, index: int, cls: str, realism: Realism = Realism(), field_r90: float | None = None,
               selection: Selection = NAIR_ABRAHAM, noise_scale: float = 1.0, *,
               labels: LabelModel = TRUE_LABELS) -> tuple[np.ndarray, dict]:
    """The galaxy of :func:`galaxy` in g, r and i: ((3, n, n) nanomaggies, parameters), g exactly
    :func:`galaxy`'s image (at ``noise_scale`` 1). r and i are the same noiseless sky in their colours
    (:func:`band_scenes`), each with its own sky noise (:data:`BAND_NOISE`), drawn from a stream of
    their own. ``noise_scale`` scales the noise of all three (a deeper survey, or galaxies higher
    above their sky, below 1)."""
    parts = {}
    g, scene, p = _observed(seed, index, cls, realism, field_r90, selection, labels, parts)
    if noise_scale != 1.0:
        clean = np.minimum(scene, SATURATION_NMGY)
        g = np.where(g == 0.0, 0.0, clean + noise_scale * (g - clean))
    band_rng = np.random.default_rng([seed, index, 1])
    r, i = (np.minimum(sky + band_rng.normal(0, noise_scale * BAND_NOISE[b] * p["sky_sigma_nmgy"], g.shape),
                       SATURATION_NMGY) for b, sky in band_scenes(scene, parts, p).items())
    edge = g == 0.0  # a field's edge (the noise leaves no other pixel exactly 0)
    r[edge] = i[edge] = 0.0
    return np.stack([g, r, i]).astype(np.float32), p


def band_scenes(scene: np.ndarray, parts: dict, p: dict) -> dict:
    """{"r": ..., "i": ...}: the noiseless g-band ``scene`` of the galaxy ``p`` in r and i, its colour
    gradients from its light components (``parts``, :func:`_scene`'s): the bulge old and red, the disk
    at its type's colour, its young light (the arms' and clumps' excess, the knots) blue
    (:data:`COLOURS`), all shifted alike so that the galaxy's integrated g - i is ``p["g_minus_i"]``
    (r midway, geometrically, between g and i); the rest of the scene (neighbours, stars, a merger's
    tail) at that colour."""
    colours = {"bulge": COLOURS["old"], "disk": disk_colour(p["ttype_true"]), "young": COLOURS["knots"]}
    g_flux = {k: float(parts[k].sum()) for k in colours}
    i_over_g = 10 ** (0.4 * p["g_minus_i"])
    out = {}
    for band, ratio in (("r", np.sqrt(i_over_g)), ("i", i_over_g)):
        own = {k: band_factor(c, band) for k, c in colours.items()}
        shift = ratio * sum(g_flux.values()) / max(sum(g_flux[k] * own[k] for k in colours), 1e-30)
        out[band] = scene * ratio + sum(parts[k] * (own[k] * shift - ratio) for k in colours)
    return out


def gz_stamp(p: dict, field_r90: float, largest: int = 640) -> int:
    """Side (px, even) of a stamp ``field_r90`` Petrosian R90 across (at least 24 px, at most ``largest``)."""
    side = field_r90 * petrosian_radii(p)[1] / PIXEL_SCALE
    return int(np.clip(2 * np.ceil(side / 2), 24, largest))


def petrosian_radii(p) -> tuple[float, float]:
    """SDSS Petrosian R50 and R90 (arcsec) of the galaxy ``p`` (a parameter dict or a meta row).

    From its circularised bulge + disk profile: the Petrosian radius where the surface brightness is
    0.2 of the mean inside it (eta = 0.2, as SDSS), the Petrosian flux inside twice that, R50 and R90
    the radii holding half and 90 % of it; the seeing added in quadrature (a Moffat beta = 3 holds
    90 % of its light within 1.44 FWHM). Arms, bars and clumps are left out: they move R90 little.
    """
    from scipy.special import gammaincinv
    hlr, bt = float(p["r_half_arcsec"]), float(p["bulge_fraction"])
    r_b, r_d = half_light_radii(p)
    r = np.geomspace(1e-3, 60.0, 4000) * hlr
    light = np.zeros_like(r)
    if bt > 0:
        n = float(p["bulge_n"])
        bulge = np.exp(-gammaincinv(2 * n, 0.5) * (r / r_b) ** (1 / n))
        light += bt * bulge / np.trapezoid(2 * np.pi * r * bulge, r)
    if bt < 1:
        disk = _disk_profile(r, r_d, float(p["disk_n"]))
        light += (1 - bt) * disk / np.trapezoid(2 * np.pi * r * disk, r)
    ring = 2 * np.pi * r * light
    inside = np.concatenate([[0.0], np.cumsum(np.diff(r) * (ring[1:] + ring[:-1]) / 2)])
    eta = light * np.pi * r ** 2 / np.maximum(inside, 1e-300)
    r_p = r[np.argmax((eta < 0.2) & (r > 0.05 * hlr))]
    total = np.interp(2 * r_p, r, inside)
    r50, r90 = np.interp([0.5 * total, 0.9 * total], inside, r)
    seeing = [0.5 / 0.9 * 1.44, 1.44]  # R50 and R90 of the PSF in FWHM (the R50 factor is rough)
    return tuple(float(np.hypot(x, k * p["psf_fwhm_arcsec"])) for x, k in zip((r50, r90), seeing))


def _render_chunk(args):
    seed, indices, classes, realism, labels = args
    images = np.empty((len(indices), data.STAMP, data.STAMP), dtype=np.float32)
    meta = np.zeros(len(indices), dtype=META_DTYPE)
    for j, (i, lab) in enumerate(zip(indices, classes)):
        images[j], p = galaxy(seed, int(i), CLASSES[lab], realism, labels=labels)
        meta[j] = tuple(p[name] for name in META_DTYPE.names)
    return images, meta


def class_labels(n: int, seed: int) -> np.ndarray:
    """Labels of an n-galaxy mock set: the paper's (catalogue) class proportions exactly, in shuffled order."""
    counts = stratified_counts(n)
    labels = np.concatenate([np.full(k, CLASS_INDEX[c]) for c, k in counts.items()])
    return np.random.default_rng([seed, 2**31]).permutation(labels)


def generate(n: int, seed: int = 42, realism: Realism = Realism(), workers: int | None = None,
             chunk: int = 64, progress: bool = True, labels: LabelModel = NA10_LABELS):
    """Render n galaxies in parallel. Returns (images, labels, meta), deterministic in ``seed``; the labels
    are the catalogue's under ``labels`` (``meta["ttype_true"]`` holds what each galaxy is)."""
    classes = class_labels(n, seed)
    workers = workers or os.cpu_count() or 1
    jobs = [(seed, np.arange(s, min(s + chunk, n)), classes[s:s + chunk], realism, labels)
            for s in range(0, n, chunk)]
    images = np.empty((n, data.STAMP, data.STAMP), dtype=np.float32)
    meta = np.zeros(n, dtype=META_DTYPE)
    t0 = time.perf_counter()
    bar = tqdm(total=n, desc=f"GalSim mock ({workers} proc)", unit="gal", disable=not progress)
    # spawn, not fork: a forked child inherits OpenMP state of the parent (GalSim, torch) and can hang.
    pool = (ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_one_thread)
            if workers > 1 else _Serial())
    with pool:
        for (_, idx, *_), (im, me) in zip(jobs, pool.map(_render_chunk, jobs)):
            images[idx], meta[idx] = im, me
            bar.update(len(idx))
    bar.close()
    rate = n / (time.perf_counter() - t0)
    if progress:
        print(f"rendered {n} galaxies at {rate:.0f} galaxies/s with {workers} processes")
    return images, classes, meta


def _one_thread():
    """One OpenMP thread per worker process: GalSim's threads on small stamps only contend."""
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)


class _Serial:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    @staticmethod
    def map(fn, jobs):
        return map(fn, jobs)


def build(path, n: int, seed: int = 42, realism: Realism = Realism(), workers: int | None = None,
          progress: bool = True, labels: LabelModel = NA10_LABELS):
    """Render a mock set, split it by galaxy and write it (atomically) to ``path``."""
    images, classes, meta = generate(n, seed, realism, workers, progress=progress, labels=labels)
    split = data.split_by_galaxy(classes, seed=seed)
    return data.save(path, images, classes, np.arange(n, dtype=np.int64), split, meta,
                     source="mock", band="g", pixel_scale_arcsec=PIXEL_SCALE, seed=seed,
                     units="nanomaggies, sky-subtracted", realism=str(asdict(realism)),
                     label_model=str(asdict(labels)), generator_version=GENERATOR_VERSION)


def ensure(path, n: int, seed: int = 42, realism: Realism = Realism(), progress: bool = True,
           labels: LabelModel = NA10_LABELS):
    """Build the mock set at ``path`` unless a valid one is already there (the cache of `make data`)."""
    try:
        existing = data.load(path)
        version = existing.attrs.get("generator_version")
        if version != GENERATOR_VERSION:
            print(f"{path}: made by mock generator version {version}, this is version {GENERATOR_VERSION}; rebuilding")
        elif (len(existing) == n and existing.attrs.get("seed") == seed and existing.attrs.get("realism") == str(asdict(realism))
              and existing.attrs.get("label_model") == str(asdict(labels))):
            return path
        else:
            print(f"{path}: made with other settings; rebuilding")
    except data.DataFileError as e:
        if Path(path).exists():
            print(f"{e}; rebuilding")
    return build(path, n, seed, realism, progress=progress, labels=labels)


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description="Render the offline mock SDSS g-band set (cached).")
    ap.add_argument("--n", type=int, required=True, help="number of galaxies (14034 = the paper's sample)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, help="HDF5 path (default data/processed/mock_n<N>_seed<S>.h5)")
    args = ap.parse_args(argv)
    print(ensure(args.out or data.mock_path(args.n, args.seed), args.n, args.seed))


if __name__ == "__main__":
    main()
