"""The paper's real data: the Nair & Abraham (2010) catalogue and true SDSS g-band cutouts.

One command (``make data DATASET=sdss``, i.e. ``python -m helpers.download --dataset sdss``) does:

1. :func:`fetch_catalogue`: Nair & Abraham (2010), VizieR ``J/ApJS/186/427/table1`` (14034 galaxies),
   through ``astroquery.vizier``, cached as ECSV under ``data/raw/`` and validated.
2. :func:`fetch_cutouts`: for each galaxy one 110x110 px SDSS g cutout (FITS) at 0.396 arcsec/px from
   the CDS hips2fits service on the HiPS ``CDS/P/SDSS9/g``: bounded concurrency, retries with
   exponential backoff on timeouts, dropped connections and 5xx answers, a progress bar, resume (valid
   files are skipped), atomic writes (temporary name, renamed when complete), and blank or corrupt
   cutouts detected and listed in a failure report instead of entering the data set.
3. :func:`build_sdss_set`: the HDF5 file in the one format of :mod:`helpers.data`; it refuses to
   write a silently partial set.

Optionally :func:`fetch_colour_jpegs` gets the SDSS colour JPEGs that the earlier student reproduction
used, of which only the *blue* channel is g (the JPEGs map i, r, g to R, G, B).

Every network address is a parameter, so the tests run all of this against a server they start on
127.0.0.1. Nothing here needs the network at import time.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Callable, Iterable, Sequence
from urllib.parse import urlencode

import numpy as np
from astropy.io import fits
from astropy.table import Table
from tqdm.auto import tqdm

from . import data
from .classes import CLASSES, NA10_TTYPES, PAPER_COUNTS, PAPER_N, ttypes_to_labels

# ----------------------------------------------------------------------------- sources and constants

VIZIER_CATALOGUE = "J/ApJS/186/427"          # Nair & Abraham (2010), ApJS 186, 427
VIZIER_TABLE = VIZIER_CATALOGUE + "/table1"  # the 14034 galaxies
VIZIER_SERVER = "vizier.cds.unistra.fr"      # astroquery's default mirror
CATALOGUE_FILE = "nair_abraham_2010.ecsv"    # the cached raw table, under data/raw/

HIPS2FITS_URLS = ("https://alasky.cds.unistra.fr/hips-image-services/hips2fits",
                  "https://alaskybis.cds.unistra.fr/hips-image-services/hips2fits")  # main, mirror
HIPS_SURVEY = "CDS/P/SDSS9/g"   # SDSS DR9 g-band images as a HiPS (CDS)
PIXEL_SCALE_ARCSEC = 0.396      # the native SDSS pixel scale, arcsec per pixel
STAMP = data.STAMP              # 110 px
FOV_DEG = STAMP * PIXEL_SCALE_ARCSEC / 3600.0   # 0.0121 deg = 43.56 arcsec across
CUTOUT_DIR_NAME = "sdss_g"      # data/raw/sdss_g/<name>.fits (another scale: sdss_g_<scale>as/)

SDSS_JPEG_URL = "https://skyserver.sdss.org/dr17/SkyServerWS/ImgCutout/getjpeg"
JPEG_DIR_NAME = "sdss_jpeg"

USER_AGENT = "galaxy-morphology-helpers/0.1 (reproduction of Cavanagh, Bekki & Groves 2021)"

# The catalogue's columns: our name -> the VizieR labels tried, in order (the first one present wins).
# The request asks for every column ("**") plus the positions VizieR computes in J2000 decimal degrees
# (_RAJ2000, _DEJ2000), so a label guessed wrongly here never breaks the query: it only leaves an
# optional field empty (NaN, or -1 for flags), and the mapping actually used is stored with the data
# (attrs["catalogue_columns"]). 'TType', the SDSS name and the computed positions are the ones relied on.
CATALOGUE_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("SDSS", "JID", "Name", "ID"),                   # SDSS designation, e.g. J155341.74-003422.84
    "ra": ("_RAJ2000", "RAJ2000", "_RA", "RAdeg", "RA_ICRS", "RA"),    # deg, J2000
    "dec": ("_DEJ2000", "DEJ2000", "_DE", "DEdeg", "DE_ICRS", "DE", "Dec"),
    "z": ("z", "zs", "zsp", "Z"),                           # SDSS spectroscopic redshift
    "ttype": ("TType", "T", "Ttype", "T-Type"),             # Nair & Abraham T-type (-5 .. 10, 99)
    # optional physical and observational columns (meta fields; NaN / -1 where absent)
    "log_mstar": ("logM", "logM*", "log(M*)", "logMs", "logMass", "Mass"),  # log stellar mass [Msun]
    "log_age": ("Age", "logAge", "log(Age)"),
    "g_mag": ("gmag", "g", "g0mag"),                        # extinction-corrected apparent g
    "r_mag": ("rmag", "r", "r0mag"),
    "abs_mag_g": ("Mg", "gMag", "Mabs_g"),
    "log_lg": ("logLg", "Lg", "log(Lg)"),                   # log g-band luminosity
    "axis_ratio": ("b/a", "bOa", "ba"),
    "petro_r90": ("Rp90", "R90", "Rp"),
    "bar": ("Bar",),                                        # bit flags as in the paper
    "ring": ("Ring",),
    "pair": ("Pair",),
}
REQUIRED_COLUMNS = ("ra", "dec", "z", "ttype")   # "name" falls back to J<ra><dec> if absent
FLAG_FIELDS = ("bar", "ring", "pair")
FLOAT_FIELDS = ("log_mstar", "log_age", "g_mag", "r_mag", "abs_mag_g", "log_lg", "axis_ratio", "petro_r90")

# Per-galaxy metadata of the real set (the /meta table of the HDF5 file).
SDSS_META_DTYPE = np.dtype(
    [("sdss_name", "S24"), ("ra", "f8"), ("dec", "f8"), ("z", "f4"), ("ttype", "i2")]
    + [(f, "f4") for f in FLOAT_FIELDS] + [(f, "i2") for f in FLAG_FIELDS]
    + [("blank_fraction", "f4")])


class CatalogueError(ValueError):
    """The catalogue could not be fetched, parsed or validated."""


class CutoutError(ValueError):
    """A downloaded cutout is not usable. ``permanent``: retrying the same request will not help."""

    def __init__(self, reason: str, permanent: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class IncompleteDataError(RuntimeError):
    """Some galaxies have no valid cutout; ``missing`` maps name -> reason."""

    def __init__(self, message: str, missing: dict[str, str]):
        super().__init__(message)
        self.missing = missing


def cutout_dir_name(kind: str = "fits", scale_arcsec: float = PIXEL_SCALE_ARCSEC) -> str:
    """Directory of the cutouts under data/raw/: one per image kind and pixel scale, never mixed."""
    base = CUTOUT_DIR_NAME if kind == "fits" else JPEG_DIR_NAME
    return base if abs(scale_arcsec - PIXEL_SCALE_ARCSEC) < 1e-9 else f"{base}_{scale_arcsec:.3f}as"


def default_raw_dir() -> Path:
    return data.DATA_DIR / "raw"


def default_out_path() -> Path:
    return getattr(data, "SDSS_PATH", data.DATA_DIR / "processed" / "sdss.h5")


# ----------------------------------------------------------------------------- the catalogue

def _vizier(server: str | None, timeout: float):
    """A VizierClass asking for every column, all rows, and J2000 positions in degrees.

    ``server`` is a mirror host name (astroquery's ``vizier_server``, always https) or a full base URL
    such as ``http://127.0.0.1:8000`` (a local server in the tests, or a mirror behind a proxy).
    """
    from astroquery.vizier import VizierClass

    kwargs = dict(columns=["**", "_RAJ2000", "_DEJ2000"], row_limit=-1, timeout=timeout)
    if server and re.match(r"^https?://", server):
        base = server.rstrip("/")

        class _VizierAt(VizierClass):
            def _server_to_url(self, return_type="votable"):
                return f"{base}/viz-bin/{return_type}"

        return _VizierAt(**kwargs)
    return VizierClass(vizier_server=server or VIZIER_SERVER, **kwargs)


def query_vizier(server: str | None = None, timeout: float = 300, retries: int = 4,
                 backoff: float = 2.0, table: str = VIZIER_TABLE) -> Table:
    """Download the whole Nair & Abraham table from VizieR; retries timeouts and 5xx answers."""
    import requests
    from astroquery import cache_conf

    viz = _vizier(server, timeout)
    reason = "no attempt"
    for attempt in range(retries + 1):
        try:
            with cache_conf.set_temp("cache_active", False):  # our ECSV file is the cache
                response = viz.get_catalogs_async(table)
            code = response.status_code
            if code == 200 and response.content[:5] == b"<?xml":
                try:
                    tables = viz._parse_result(response)
                except Exception as e:  # noqa: BLE001 - a cut or garbled answer: ask again
                    tables, reason = None, f"unreadable VOTable ({type(e).__name__}: {str(e)[:200]})"
                if tables is not None:
                    names = list(tables.keys())
                    if table in names:
                        return tables[table]
                    if len(names) == 1:
                        return tables[names[0]]
                    raise CatalogueError(f"VizieR answered without table {table} (tables: {names}); "
                                         f"answer begins {response.content[:300]!r}")
            elif code == 200 or (400 <= code < 500 and code not in (408, 429)):
                raise CatalogueError(f"VizieR ({response.url}) answered HTTP {code}: {response.content[:300]!r}")
            else:
                reason = f"HTTP {code}"
        except requests.Timeout:
            reason = f"timeout after {timeout} s"
        except requests.RequestException as e:
            reason = f"{type(e).__name__}: {e}"
        if attempt < retries:
            delay = backoff * 2 ** attempt * (1 + 0.25 * random.random())
            print(f"VizieR {table}: {reason}; retrying in {delay:.1f} s ({attempt + 1}/{retries})", file=sys.stderr)
            time.sleep(delay)
    raise CatalogueError(f"VizieR {table}: failed after {retries + 1} attempts, last: {reason}")


def _find_column(table: Table, field_name: str) -> str | None:
    for label in CATALOGUE_COLUMNS[field_name]:
        if label in table.colnames:
            return label
    return None


def _float_column(table: Table, label: str) -> np.ndarray:
    """A column as float64, masked or empty entries as NaN; a non-numeric entry is a CatalogueError."""
    values = np.ma.asarray(table[label])
    if values.dtype.kind in "USO":
        out = np.full(len(values), np.nan)
        for i, v in enumerate(np.ma.filled(values.astype(str), "")):
            if v.strip() not in ("", "--"):
                try:
                    out[i] = float(v)
                except ValueError:
                    where = table.meta.get("source_file", "the catalogue")
                    raise CatalogueError(f"{where}: column {label!r}, row {i}: {str(v)!r} is not a number") from None
        return out
    return np.ma.filled(values.astype(np.float64), np.nan)


def standardise(raw: Table, expected_rows: int | None = PAPER_N) -> Table:
    """The raw VizieR table -> one row per galaxy with our column names, sorted by SDSS name.

    Columns: galaxy_id (1..N, in name order), name, ra, dec, z, ttype, label (CLASSES index), then the
    optional fields of :data:`CATALOGUE_COLUMNS`. ``meta["column_map"]`` records which VizieR
    column fed each field. Raises :class:`CatalogueError` on anything that would corrupt the labels.
    """
    where = raw.meta.get("source_file", "the catalogue")
    found = {f: _find_column(raw, f) for f in CATALOGUE_COLUMNS}
    missing = [f for f in REQUIRED_COLUMNS if found[f] is None]
    if missing:
        raise CatalogueError(f"{where}: no column for {missing}; looked for "
                             f"{ {f: CATALOGUE_COLUMNS[f] for f in missing} } among {raw.colnames}")
    n = len(raw)
    if expected_rows is not None and n != expected_rows:
        raise CatalogueError(f"{where}: {n} rows, expected {expected_rows} (a partial or wrong table)")
    out = Table()
    ra, dec, z = (_float_column(raw, found[f]) for f in ("ra", "dec", "z"))
    bad = ~np.isfinite(ra) | ~np.isfinite(dec) | (ra < 0) | (ra >= 360) | (np.abs(dec) > 90)
    if bad.any():
        raise CatalogueError(f"{where}: {bad.sum()} rows without valid positions, e.g. rows {np.flatnonzero(bad)[:5].tolist()}")
    if not np.isfinite(z).all():
        raise CatalogueError(f"{where}: {int((~np.isfinite(z)).sum())} rows without a redshift")
    tt = _float_column(raw, found["ttype"])
    unknown = ~np.isin(tt, NA10_TTYPES)
    if unknown.any():
        vals = sorted({str(v) for v in tt[unknown]})[:10]
        raise CatalogueError(f"{where}: {int(unknown.sum())} T-types outside the Nair & Abraham vocabulary "
                             f"{NA10_TTYPES} in column {found['ttype']!r}: {vals}")
    if found["name"] is not None:
        names = np.array([str(s).strip() for s in np.ma.filled(np.ma.asarray(raw[found["name"]]).astype(str), "")])
    else:
        warnings.warn(f"{where}: no SDSS name column among {CATALOGUE_COLUMNS['name']}; naming galaxies by position")
        names = np.array([f"J{r:09.5f}{d:+09.5f}" for r, d in zip(ra, dec)])
    uniq, counts = np.unique(names, return_counts=True)
    if (counts > 1).any() or (names == "").any():
        raise CatalogueError(f"{where}: galaxy names are empty or not unique, e.g. {uniq[counts > 1][:5].tolist()}")
    order = np.argsort(names, kind="stable")
    out["galaxy_id"] = np.arange(1, n + 1, dtype=np.int64)
    out["name"] = names[order]
    out["ra"], out["dec"], out["z"] = ra[order], dec[order], z[order]
    out["ttype"] = tt[order].astype(np.int16)
    out["label"] = ttypes_to_labels(out["ttype"])
    for f in FLOAT_FIELDS:
        out[f] = _float_column(raw, found[f])[order] if found[f] else np.full(n, np.nan)
    for f in FLAG_FIELDS:
        v = _float_column(raw, found[f])[order] if found[f] else np.full(n, np.nan)
        out[f] = np.where(np.isfinite(v), v, -1).astype(np.int16)
    out.meta["column_map"] = {f: found[f] or "" for f in CATALOGUE_COLUMNS}
    out.meta["source"] = f"VizieR {VIZIER_TABLE} (Nair & Abraham 2010)"
    return out


def class_counts(catalogue: Table) -> dict[str, int]:
    """Galaxies per class, in CLASSES order (compare with classes.PAPER_COUNTS)."""
    labels = np.asarray(catalogue["label"])
    return {c: int((labels == i).sum()) for i, c in enumerate(CLASSES)}


def _write_table_atomic(table: Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        table.write(tmp, format="ascii.ecsv", overwrite=True)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _plain(value):
    """A JSON-safe copy (VOTable metadata can hold numpy scalars and objects ECSV cannot write)."""
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v)))


def _clean_meta(table: Table) -> Table:
    table.meta = _plain(dict(table.meta))
    for col in table.itercols():
        col.meta = _plain(dict(col.meta))
    return table


def load_catalogue(path, expected_rows: int | None = PAPER_N) -> Table:
    """Read the cached raw catalogue (ECSV) and standardise it."""
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # e.g. VizieR's log units such as [Msun]
            raw = Table.read(path, format="ascii.ecsv")
    except Exception as e:  # noqa: BLE001 - any parse failure means a corrupt cache
        raise CatalogueError(f"{path}: cannot read as ECSV ({type(e).__name__}: {e})") from e
    raw.meta["source_file"] = str(path)
    return standardise(raw, expected_rows=expected_rows)


def fetch_catalogue(raw_dir=None, server: str | None = None, *, force: bool = False, timeout: float = 300,
                    retries: int = 4, backoff: float = 2.0, expected_rows: int | None = PAPER_N) -> Table:
    """The Nair & Abraham (2010) catalogue, standardised (see :func:`standardise`).

    Read from ``<raw_dir>/nair_abraham_2010.ecsv`` when that cache is there and valid; otherwise
    fetched from VizieR (``server``: a mirror host name or a base URL), validated, and only then
    cached (atomically). ``expected_rows=None`` accepts a table of any length (tests, excerpts).
    """
    raw_dir = Path(raw_dir) if raw_dir is not None else default_raw_dir()
    path = raw_dir / CATALOGUE_FILE
    if path.exists() and not force:
        try:
            return load_catalogue(path, expected_rows=expected_rows)
        except CatalogueError as e:
            print(f"{e}; fetching it again", file=sys.stderr)
    raw = query_vizier(server, timeout=timeout, retries=retries, backoff=backoff)
    _clean_meta(raw)
    raw.meta["source_file"] = f"VizieR {VIZIER_TABLE}"
    std = standardise(raw, expected_rows=expected_rows)   # validate before caching
    raw.meta["source_file"] = str(path)
    raw.meta["vizier_table"] = VIZIER_TABLE
    raw.meta["retrieved_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    _write_table_atomic(raw, path)
    return std


def _as_catalogue(catalogue) -> Table:
    if isinstance(catalogue, (str, Path)):
        return load_catalogue(catalogue, expected_rows=None)
    if "galaxy_id" in catalogue.colnames and "label" in catalogue.colnames:
        return catalogue
    return standardise(catalogue, expected_rows=None)


# ----------------------------------------------------------------------------- validating files

def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+_-]", "_", str(name))


def cutout_path(out_dir, name: str, suffix: str = ".fits") -> Path:
    return Path(out_dir) / f"{_safe_name(name)}{suffix}"


def read_fits_cutout(content, shape=(STAMP, STAMP), max_blank_fraction: float = 0.02,
                     scale_arcsec: float | None = None) -> tuple[np.ndarray, float]:
    """Check a FITS cutout (bytes or path) and return (image float32, blank fraction).

    Raises :class:`CutoutError` with the reason: unreadable or truncated (retry may help), wrong
    shape, or blank (no data: NaN, exactly zero or constant pixels; permanent: outside the footprint).
    Blank pixels are NaN or exactly 0; up to ``max_blank_fraction`` of them are filled with the median.
    With ``scale_arcsec``, a header pixel scale (CDELT2 or CD2_2) that differs by > 1 % is refused.
    """
    if isinstance(content, (str, Path)):
        content = Path(content).read_bytes()
    if len(content) < 2880 or not content.startswith(b"SIMPLE"):
        raise CutoutError(f"not a FITS file ({len(content)} bytes, begins {content[:40]!r})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(BytesIO(content), memmap=False, lazy_load_hdus=False) as hdul:
                for i, hdu in enumerate(hdul):
                    if hdu.is_image and hdu.header.get("NAXIS", 0) >= 2:
                        info = hdul.fileinfo(i)
                        nbytes = abs(hdu.header["BITPIX"]) // 8 * int(np.prod(
                            [hdu.header[f"NAXIS{k}"] for k in range(1, hdu.header["NAXIS"] + 1)]))
                        if info["datLoc"] + nbytes > len(content):
                            raise CutoutError(f"truncated FITS: {len(content)} bytes, data needs "
                                              f"{info['datLoc'] + nbytes}")
                        image = np.array(hdu.data, dtype=np.float32)
                        header = hdu.header
                        break
                else:
                    raise CutoutError("FITS file without a 2-D image")
    except CutoutError:
        raise
    except Exception as e:  # noqa: BLE001 - astropy reports corruption in many ways
        raise CutoutError(f"corrupt FITS ({type(e).__name__}: {e})") from e
    image = np.squeeze(image)
    if image.shape != tuple(shape):
        raise CutoutError(f"image shape {image.shape}, expected {tuple(shape)}", permanent=True)
    if scale_arcsec is not None:
        step = header.get("CDELT2", header.get("CD2_2"))
        if step is not None and abs(abs(float(step)) * 3600 / scale_arcsec - 1) > 0.01:
            raise CutoutError(f"pixel scale {abs(float(step)) * 3600:.4f} arcsec, expected {scale_arcsec}",
                              permanent=True)
    blank = ~np.isfinite(image) | (image == 0)
    frac = float(blank.mean())
    if frac > max_blank_fraction:
        raise CutoutError(f"blank: {frac:.0%} of pixels NaN or exactly 0 (outside the survey footprint?)",
                          permanent=True)
    good = image[~blank]
    if good.size == 0 or float(good.max()) == float(good.min()):
        raise CutoutError(f"blank: constant image (value {good.max() if good.size else np.nan})", permanent=True)
    if blank.any():
        image[blank] = np.median(good)
    return image, frac


def read_jpeg_g_proxy(content, shape=(STAMP, STAMP)) -> np.ndarray:
    """The g-band proxy of an SDSS colour JPEG: its BLUE channel, as float32 (0..255).

    SDSS colour JPEGs map (i, r, g) to (R, G, B), so g is the blue channel: index 2 in the RGB order
    PIL gives. (OpenCV's cv2.imread gives BGR, where index 2 is RED = i band: the earlier
    reproduction's mistake.) Raises :class:`CutoutError` if unreadable, wrongly sized or blank.
    """
    from PIL import Image

    if isinstance(content, (str, Path)):
        content = Path(content).read_bytes()
    try:
        with Image.open(BytesIO(content)) as im:
            im.load()
            rgb = np.asarray(im.convert("RGB"))
    except Exception as e:  # noqa: BLE001
        raise CutoutError(f"corrupt image ({type(e).__name__}: {e})") from e
    if rgb.shape[:2] != tuple(shape):
        raise CutoutError(f"image shape {rgb.shape[:2]}, expected {tuple(shape)}", permanent=True)
    blue = rgb[..., 2].astype(np.float32)   # RGB order: 0 = R (i), 1 = G (r), 2 = B (g)
    if blue.max() == blue.min():
        raise CutoutError(f"blank: constant blue channel (value {blue.max():.0f})", permanent=True)
    return blue


# ----------------------------------------------------------------------------- the downloader

@dataclass
class Job:
    key: str          # galaxy name
    url: str          # first URL (mirrors: the others of ``urls``)
    path: Path
    info: dict = field(default_factory=dict)   # ra, dec: for the report
    urls: tuple = ()


@dataclass
class DownloadReport:
    total: int
    downloaded: list = field(default_factory=list)
    skipped: list = field(default_factory=list)     # already valid on disk
    failed: dict = field(default_factory=dict)      # key -> reason
    report_path: Path | None = None
    interrupted: bool = False

    @property
    def complete(self) -> bool:
        return not self.failed and not self.interrupted

    def summary(self) -> str:
        s = (f"{self.total} files: {len(self.downloaded)} downloaded, {len(self.skipped)} already there, "
             f"{len(self.failed)} failed")
        if self.failed and self.report_path:
            s += f" (listed in {self.report_path}; run again to retry them)"
        return s


class _Interrupted(Exception):
    pass


def _retry_after(response) -> float | None:
    try:
        return min(float(response.headers.get("Retry-After")), 60.0)
    except (TypeError, ValueError):
        return None


def _download_one(job: Job, get_session, validate, retries: int, timeout: float, backoff: float,
                  stop: threading.Event) -> tuple[str, str, int]:
    """Fetch, validate and atomically write one file. Returns (status 'ok'|'failed', reason, attempts)."""
    import requests

    urls = job.urls or (job.url,)
    reason = "not attempted"
    for attempt in range(retries + 1):
        if stop.is_set():
            raise _Interrupted()
        url = urls[attempt % len(urls)]
        wait = None
        try:
            r = get_session().get(url, timeout=timeout)
            if r.status_code == 200:
                content = r.content
                expected = r.headers.get("Content-Length")
                if expected is not None and expected.isdigit() and len(content) != int(expected):
                    raise CutoutError(f"truncated transfer: {len(content)} of {expected} bytes")
                validate(content)
                _write_atomic(job.path, content)
                return "ok", "", attempt + 1
            reason = f"HTTP {r.status_code}: {r.text[:120].strip()!r}"
            if not (r.status_code >= 500 or r.status_code in (408, 425, 429)):
                return "failed", reason, attempt + 1      # 4xx: the request itself is wrong
            wait = _retry_after(r)
        except CutoutError as e:
            reason = e.reason
            if e.permanent:
                return "failed", reason, attempt + 1
        except requests.Timeout:
            reason = f"timeout after {timeout} s"
        except requests.RequestException as e:
            reason = f"connection error ({type(e).__name__}: {str(e)[:160]})"
        if attempt < retries:
            delay = wait if wait is not None else backoff * 2 ** attempt * (1 + 0.25 * random.random())
            if stop.wait(delay):
                raise _Interrupted()
    return "failed", f"{reason} (after {retries + 1} attempts)", retries + 1


def _write_atomic(path: Path, content: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    try:
        with open(tmp, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _write_report(path: Path, jobs: dict, failed: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "ra", "dec", "reason", "url"])
        for key in sorted(failed):
            job = jobs[key]
            w.writerow([key, job.info.get("ra", ""), job.info.get("dec", ""), failed[key], job.url])
    os.replace(tmp, path)


def download_many(jobs: Sequence[Job], validate: Callable[[bytes], object], *, workers: int = 8,
                  retries: int = 4, timeout: float = 60, backoff: float = 1.0, progress: bool = True,
                  report_path=None, desc: str = "download",
                  on_file: Callable[[str, str, str], None] | None = None) -> DownloadReport:
    """Download many files concurrently, robustly and resumably (see the module docstring).

    A file already on disk that passes ``validate`` is skipped; one that fails it is downloaded
    again. ``on_file(key, status, reason)`` is called in the calling thread after each file.
    An interruption (Ctrl-C, or an exception from ``on_file``) stops the workers after their current
    request, leaves only complete files behind, writes the report and re-raises.
    """
    import requests

    jobs_by_key = {j.key: j for j in jobs}
    report = DownloadReport(total=len(jobs), report_path=Path(report_path) if report_path else None)
    dirs = {j.path.parent for j in jobs}
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
        for stale in d.glob(".*.part"):      # left by a killed run
            stale.unlink(missing_ok=True)
    todo = []
    for job in jobs:
        if job.path.exists():
            try:
                validate(job.path.read_bytes())
                report.skipped.append(job.key)
                continue
            except CutoutError:
                job.path.unlink()             # corrupt from an earlier tool or disk trouble: fetch again
        todo.append(job)

    local = threading.local()
    sessions, lock = [], threading.Lock()

    def get_session():
        s = getattr(local, "session", None)
        if s is None:
            s = local.session = requests.Session()
            s.headers["User-Agent"] = USER_AGENT
            with lock:
                sessions.append(s)
        return s

    stop = threading.Event()
    bar = tqdm(total=len(todo), desc=desc, unit="file", disable=not progress or not todo)
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="download")
    futures = {}
    try:
        futures = {pool.submit(_download_one, job, get_session, validate, retries, timeout, backoff, stop): job.key
                   for job in todo}
        for fut in as_completed(futures):
            key = futures[fut]
            status, reason, _ = fut.result()
            if status == "ok":
                report.downloaded.append(key)
            else:
                report.failed[key] = reason
            bar.update(1)
            if report.failed:
                bar.set_postfix(failed=len(report.failed), refresh=False)
            if on_file is not None:
                on_file(key, status, reason)
    except BaseException:
        stop.set()
        report.interrupted = True
        pool.shutdown(wait=False, cancel_futures=True)
        in_flight = [f for f in futures if not f.done()]
        if in_flight:
            print(f"\nstopping: waiting for {len(in_flight)} requests in flight (at most ~{timeout:.0f} s); "
                  "complete files are kept, run again to resume", file=sys.stderr)
            wait_futures(in_flight, timeout=2 * timeout + 5)
        for fut, key in futures.items():     # in-flight requests may have completed meanwhile
            if key in report.failed or key in report.downloaded:
                continue
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                status, reason, _ = fut.result()
                if status == "ok":
                    report.downloaded.append(key)
                else:
                    report.failed[key] = reason
            else:
                report.failed[key] = "not downloaded: interrupted (run again to resume)"
        if report.report_path:
            _write_report(report.report_path, jobs_by_key, report.failed)
        raise
    finally:
        pool.shutdown(wait=True)
        bar.close()
        for s in sessions:
            s.close()
    if report.report_path:
        _write_report(report.report_path, jobs_by_key, report.failed)
    return report


# ----------------------------------------------------------------------------- SDSS g cutouts

def cutout_url(ra: float, dec: float, base_url: str = HIPS2FITS_URLS[0], hips: str = HIPS_SURVEY,
               size: int = STAMP, scale_arcsec: float = PIXEL_SCALE_ARCSEC) -> str:
    """hips2fits URL of a size x size px FITS cutout (TAN projection, north up) centred on (ra, dec)."""
    params = {"hips": hips, "width": size, "height": size, "projection": "TAN", "coordsys": "icrs",
              "ra": f"{ra:.7f}", "dec": f"{dec:.7f}", "fov": f"{size * scale_arcsec / 3600.0:.9f}",
              "format": "fits"}
    return f"{base_url}?{urlencode(params)}"


def _mirrors(base_url) -> tuple[str, ...]:
    return (base_url,) if isinstance(base_url, str) else tuple(base_url)


def fetch_cutouts(catalogue, out_dir=None, base_url: str | Sequence[str] = HIPS2FITS_URLS, *, workers: int = 8,
                  retries: int = 4, timeout: float = 60, backoff: float = 1.0, progress: bool = True,
                  report_path=None, limit: int | None = None, max_blank_fraction: float = 0.02,
                  scale_arcsec: float = PIXEL_SCALE_ARCSEC, on_file=None) -> DownloadReport:
    """Download one SDSS g FITS cutout per catalogue galaxy into ``out_dir`` (``<name>.fits``).

    ``base_url``: the hips2fits endpoint, or several (mirrors, tried in turn on retries).
    The failures (name, position, reason, URL) go to ``report_path``, by default
    ``<out_dir>/../sdss_g_failures.csv`` (header only when none failed). Returns a
    :class:`DownloadReport`; it does not raise on failed files, :func:`build_sdss_set` does.
    """
    cat = _as_catalogue(catalogue)
    if limit is not None:
        cat = cat[:limit]
    out_dir = Path(out_dir) if out_dir is not None else default_raw_dir() / cutout_dir_name("fits", scale_arcsec)
    report_path = report_path or out_dir.parent / f"{out_dir.name}_failures.csv"
    mirrors = _mirrors(base_url)
    jobs = []
    for row in cat:
        urls = tuple(cutout_url(float(row["ra"]), float(row["dec"]), m, scale_arcsec=scale_arcsec) for m in mirrors)
        jobs.append(Job(str(row["name"]), urls[0], cutout_path(out_dir, row["name"]),
                        {"ra": float(row["ra"]), "dec": float(row["dec"])}, urls))

    def validate(content):
        return read_fits_cutout(content, max_blank_fraction=max_blank_fraction, scale_arcsec=scale_arcsec)

    return download_many(jobs, validate, workers=workers, retries=retries, timeout=timeout, backoff=backoff,
                         progress=progress, report_path=report_path, desc="SDSS g cutouts", on_file=on_file)


def jpeg_url(ra: float, dec: float, base_url: str = SDSS_JPEG_URL, size: int = STAMP,
             scale_arcsec: float = PIXEL_SCALE_ARCSEC) -> str:
    """SDSS SkyServer colour JPEG cutout URL (gri composite, Lupton et al. 2004 stretch)."""
    return f"{base_url}?{urlencode({'ra': f'{ra:.7f}', 'dec': f'{dec:.7f}', 'scale': scale_arcsec, 'width': size, 'height': size})}"


def fetch_colour_jpegs(catalogue, out_dir=None, base_url: str | Sequence[str] = SDSS_JPEG_URL, **kwargs) -> DownloadReport:
    """Optional: the SDSS colour JPEG cutouts the earlier reproduction used (``<name>.jpg``).

    Only their blue channel is g (see :func:`read_jpeg_g_proxy`); kept to compare its choices with
    the true g-band FITS. Same keywords and guarantees as :func:`fetch_cutouts`.
    """
    cat = _as_catalogue(catalogue)
    limit = kwargs.pop("limit", None)
    if limit is not None:
        cat = cat[:limit]
    scale = kwargs.pop("scale_arcsec", PIXEL_SCALE_ARCSEC)
    out_dir = Path(out_dir) if out_dir is not None else default_raw_dir() / cutout_dir_name("jpeg", scale)
    report_path = kwargs.pop("report_path", None) or out_dir.parent / f"{out_dir.name}_failures.csv"
    kwargs.pop("max_blank_fraction", None)
    mirrors = _mirrors(base_url)
    jobs = []
    for row in cat:
        urls = tuple(jpeg_url(float(row["ra"]), float(row["dec"]), m, scale_arcsec=scale) for m in mirrors)
        jobs.append(Job(str(row["name"]), urls[0], cutout_path(out_dir, row["name"], ".jpg"),
                        {"ra": float(row["ra"]), "dec": float(row["dec"])}, urls))
    return download_many(jobs, read_jpeg_g_proxy, report_path=report_path, desc="SDSS colour JPEGs", **kwargs)


# ----------------------------------------------------------------------------- the HDF5 set

def build_sdss_set(catalogue, cutout_dir, out_path, seed: int = getattr(data, "MOCK_SEED", 42), *,
                   allow_missing: bool = False, image_format: str = "fits", max_blank_fraction: float = 0.02,
                   scale_arcsec: float = PIXEL_SCALE_ARCSEC, progress: bool = True) -> Path:
    """Assemble the downloaded cutouts into the HDF5 format of :mod:`helpers.data`.

    images: the g cutouts (float32, 110x110); labels from the T-types; galaxy_id from the catalogue;
    the split by galaxy (:func:`helpers.data.split_by_galaxy`, seeded); meta: name, position,
    redshift, T-type, stellar mass and the other catalogue fields (:data:`SDSS_META_DTYPE`).
    ``image_format``: "fits" (true g) or "jpeg" (blue channel of the colour JPEGs, for comparison).

    If any galaxy lacks a valid cutout it raises :class:`IncompleteDataError` listing them (also
    written to ``<out_path>.missing.csv``), unless ``allow_missing=True``: then the set holds the
    others and records the missing ids and names in its attrs. Never silently partial.
    """
    cat = _as_catalogue(catalogue)
    cutout_dir, out_path = Path(cutout_dir), Path(out_path)
    if image_format not in ("fits", "jpeg"):
        raise ValueError(f"image_format must be 'fits' or 'jpeg', not {image_format!r}")
    suffix = ".fits" if image_format == "fits" else ".jpg"
    images, blank, keep, missing = [], [], [], {}
    for i, row in enumerate(tqdm(cat, desc="reading cutouts", unit="file", disable=not progress)):
        path = cutout_path(cutout_dir, row["name"], suffix)
        if not path.exists():
            missing[str(row["name"])] = f"no file {path}"
            continue
        try:
            if image_format == "fits":
                im, frac = read_fits_cutout(path, max_blank_fraction=max_blank_fraction, scale_arcsec=scale_arcsec)
            else:
                im, frac = read_jpeg_g_proxy(path), 0.0
        except CutoutError as e:
            missing[str(row["name"])] = f"{path}: {e.reason}"
            continue
        images.append(im)
        blank.append(frac)
        keep.append(i)
    missing_csv = out_path.with_name(out_path.name + ".missing.csv")
    if missing:
        missing_csv.parent.mkdir(parents=True, exist_ok=True)
        with open(missing_csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["name", "reason"])
            w.writerows(sorted(missing.items()))
    elif missing_csv.exists():
        missing_csv.unlink()
    if missing and not allow_missing:
        shown = "\n  ".join(f"{k}: {v}" for k, v in sorted(missing.items())[:20])
        more = f"\n  ... and {len(missing) - 20} more" if len(missing) > 20 else ""
        raise IncompleteDataError(
            f"{len(missing)} of {len(cat)} galaxies have no valid cutout in {cutout_dir} (all listed in "
            f"{missing_csv}):\n  {shown}{more}\nRun the download again (it resumes), or pass "
            f"allow_missing=True (--allow-missing) to build a set without them.", missing)
    if not keep:
        raise IncompleteDataError(f"no valid cutouts at all in {cutout_dir}", missing)
    sub = cat[np.array(keep)]
    labels = np.asarray(sub["label"], dtype=np.int64)
    split = data.split_by_galaxy(labels, seed=seed)
    meta = np.zeros(len(sub), dtype=SDSS_META_DTYPE)
    meta["sdss_name"] = [str(s).encode("ascii", "replace")[:24] for s in sub["name"]]
    for f in ("ra", "dec", "z", "ttype") + FLOAT_FIELDS + FLAG_FIELDS:
        meta[f] = np.asarray(sub[f])
    meta["blank_fraction"] = blank
    missing_ids = np.asarray([int(r["galaxy_id"]) for r in cat if str(r["name"]) in missing], dtype=np.int64)
    if image_format == "fits":
        source, units = "sdss", (f"hips2fits resampling of the HiPS {HIPS_SURVEY} (SDSS DR9 g frames; "
                                 "calibrated flux, nanomaggies per SDSS pixel as the HiPS stores it)")
    else:
        source, units = "sdss-jpeg-blue", "blue channel (= g) of the SDSS colour JPEG, 0..255, asinh-stretched"
    return data.save(out_path, np.stack(images).astype(np.float32), labels, np.asarray(sub["galaxy_id"]),
                     split, meta, source=source, band="g", pixel_scale_arcsec=scale_arcsec, seed=seed,
                     units=units, survey=HIPS_SURVEY if image_format == "fits" else SDSS_JPEG_URL,
                     catalogue=f"Nair & Abraham (2010), VizieR {VIZIER_TABLE}",
                     catalogue_columns=json.dumps(cat.meta.get("column_map", {})),
                     n_catalogue=len(cat), missing_galaxy_ids=missing_ids,
                     missing_names=json.dumps(sorted(missing)),
                     class_counts=json.dumps(class_counts(sub)))


# ----------------------------------------------------------------------------- command line

def _is_complete(path: Path, cat: Table, source: str, scale: float, seed: int) -> bool:
    """Whether ``path`` already holds exactly these galaxies, made the same way (the cache of `make data`)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            a, ids = dict(f.attrs), data.read_dataset(f, "galaxy_id")
            checksummed = all(f[k].fletcher32 for k in data.REQUIRED)
    except (OSError, KeyError, data.DataFileError) as e:
        print(f"{path}: unreadable ({e}); rebuilding")
        return False
    if not checksummed:  # rebuilt from the cached cutouts, so that every later load verifies its bytes
        print(f"{path}: written without checksums (before they were stored); rebuilding")
        return False
    return (a.get("source") == source and a.get("seed") == seed
            and abs(float(a.get("pixel_scale_arcsec", -1)) - scale) < 1e-9
            and np.array_equal(np.sort(ids), np.sort(np.asarray(cat["galaxy_id"]))))


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m helpers.download",
        description="Fetch the Nair & Abraham (2010) catalogue and SDSS g cutouts, and build the HDF5 set. "
                    "Resumable: run it again after an interruption or failures.")
    ap.add_argument("--dataset", choices=("sdss", "sdss-jpeg"), default="sdss",
                    help="sdss: true g-band FITS (hips2fits CDS/P/SDSS9/g); sdss-jpeg: blue channel of the "
                         "SDSS colour JPEGs (the earlier reproduction's images, for comparison)")
    ap.add_argument("--out", type=Path, help="HDF5 path (default data/processed/sdss.h5 or sdss_jpeg_blue.h5)")
    ap.add_argument("--raw-dir", type=Path, default=None, help="downloads and caches (default data/raw)")
    ap.add_argument("--seed", type=int, default=getattr(data, "MOCK_SEED", 42), help="seed of the split")
    ap.add_argument("--workers", type=int, default=8, help="concurrent downloads (be polite: <= 8)")
    ap.add_argument("--retries", type=int, default=4)
    ap.add_argument("--timeout", type=float, default=60, help="seconds per request")
    ap.add_argument("--backoff", type=float, default=1.0, help="first retry delay, seconds (doubles)")
    ap.add_argument("--scale", type=float, default=PIXEL_SCALE_ARCSEC,
                    help="arcsec per pixel (0.396 = native SDSS; the earlier reproduction used 0.7); "
                         "each scale has its own cutout directory")
    ap.add_argument("--limit", type=int, default=None, help="only the first N galaxies (by name): a trial run")
    ap.add_argument("--allow-missing", action="store_true",
                    help="build the set without galaxies whose cutout failed (recorded in its attrs)")
    ap.add_argument("--force", action="store_true", help="rebuild the HDF5 even if a complete one exists")
    ap.add_argument("--vizier-server", default=None, help="VizieR mirror host or base URL")
    ap.add_argument("--cutout-url", action="append", default=None,
                    help="hips2fits (or SkyServer getjpeg) endpoint; repeat for mirrors")
    ap.add_argument("--expected-rows", type=int, default=PAPER_N, help="catalogue length check (0: none)")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(list(argv) if argv is not None else None)

    raw_dir = args.raw_dir or default_raw_dir()
    jpeg = args.dataset == "sdss-jpeg"
    out = args.out or (default_out_path() if not jpeg else data.DATA_DIR / "processed" / "sdss_jpeg_blue.h5")
    progress = not args.no_progress
    cat = fetch_catalogue(raw_dir, server=args.vizier_server, expected_rows=args.expected_rows or None)
    counts = class_counts(cat)
    print(f"catalogue: {len(cat)} galaxies; classes {counts}"
          + ("" if len(cat) != PAPER_N else f" (paper: {PAPER_COUNTS})"))
    print(f"catalogue columns used: {cat.meta.get('column_map')}")
    if args.limit is not None:
        cat = cat[:args.limit]
    if out.exists() and not args.force and _is_complete(out, cat, "sdss-jpeg-blue" if jpeg else "sdss", args.scale,
                                                        args.seed):
        print(f"{out}: complete set of {len(cat)} galaxies already there (--force to rebuild)")
        return 0
    common = dict(workers=args.workers, retries=args.retries, timeout=args.timeout, backoff=args.backoff,
                  progress=progress, scale_arcsec=args.scale)
    if jpeg:
        out_dir = raw_dir / cutout_dir_name("jpeg", args.scale)
        rep = fetch_colour_jpegs(cat, out_dir, base_url=args.cutout_url or SDSS_JPEG_URL, **common)
    else:
        out_dir = raw_dir / cutout_dir_name("fits", args.scale)
        rep = fetch_cutouts(cat, out_dir, base_url=args.cutout_url or HIPS2FITS_URLS, **common)
    print(rep.summary())
    try:
        path = build_sdss_set(cat, out_dir, out, seed=args.seed, allow_missing=args.allow_missing,
                              image_format="jpeg" if jpeg else "fits", scale_arcsec=args.scale, progress=progress)
    except IncompleteDataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
