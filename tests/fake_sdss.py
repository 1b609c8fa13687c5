"""Stand-ins for the real services, on 127.0.0.1: hips2fits (GET, FITS cutouts), the SDSS SkyServer
JPEG cutouts and VizieR's votable CGI (POST, as astroquery sends it), with faults programmed per
galaxy; and catalogues in VizieR's format. Shared by the download tests and the test that runs the
notebooks on a real-format set.
"""
from __future__ import annotations

import csv
import threading
import time
import zlib
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from astropy.io import fits
from astropy.io.votable import from_table
from astropy.io.votable.tree import Link
from astropy.table import Table

from helpers import download
from helpers.classes import PAPER_COUNTS

# ----------------------------------------------------------------------------- fixtures: data

def galaxy_image(name: str) -> np.ndarray:
    """A deterministic 110x110 'galaxy': a Gaussian blob on noisy sky (float32, as hips2fits gives)."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    y, x = np.mgrid[:110, :110] - 54.5
    img = 50 * np.exp(-(x ** 2 + y ** 2) / (2 * rng.uniform(3, 10) ** 2)) + rng.normal(0, 1, (110, 110))
    return img.astype(np.float32)


def fits_bytes(img: np.ndarray) -> bytes:
    hdu = fits.PrimaryHDU(img)
    hdu.header["CTYPE1"], hdu.header["CTYPE2"] = "RA---TAN", "DEC--TAN"
    hdu.header["CDELT1"], hdu.header["CDELT2"] = -0.396 / 3600, 0.396 / 3600
    buf = BytesIO()
    hdu.writeto(buf)
    return buf.getvalue()


def jpeg_bytes(name: str) -> bytes:
    from PIL import Image

    g = np.clip(galaxy_image(name) * 4 + 20, 0, 255).astype(np.uint8)
    rgb = np.stack([np.full_like(g, 200), np.full_like(g, 90), g], axis=-1)  # R, G constant; B = g
    buf = BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, format="JPEG", quality=98)
    return buf.getvalue()


def make_raw_catalogue(ttypes) -> Table:
    """A Nair & Abraham excerpt as astroquery returns VizieR J/ApJS/186/427/table1 (columns as labelled
    there, plus the _RAJ2000/_DEJ2000 positions VizieR computes), names not in sorted order."""
    n = len(ttypes)
    rng = np.random.default_rng(1)
    ra = rng.uniform(110, 250, n)
    dec = rng.uniform(-10, 60, n)
    names = [sdss_name(r, d) for r, d in zip(ra, dec)]
    assert len(set(names)) == n
    perm = rng.permutation(n)
    t = Table()
    t["_RAJ2000"] = ra[perm]
    t["_DEJ2000"] = dec[perm]
    t["SDSS"] = np.array(names)[perm]
    t["RAJ2000"] = ra[perm]
    t["DEJ2000"] = dec[perm]
    t["z"] = rng.uniform(0.01, 0.1, n)[perm]
    t["gmag"] = rng.uniform(12, 16, n).astype(np.float32)
    t["logM"] = np.ma.masked_array(rng.uniform(9, 11.5, n), mask=rng.random(n) < 0.05)
    t["TType"] = np.asarray(ttypes, dtype=np.int16)[perm]
    t["Bar"] = rng.integers(0, 3, n).astype(np.int16)
    return t


def sdss_name(ra: float, dec: float) -> str:
    """IAU-style SDSS designation, e.g. J155341.74-003422.84 (as the catalogue's SDSS column)."""
    h, rem = divmod(ra / 15 * 3600, 3600)
    m, sec = divmod(rem, 60)
    sign = "-" if dec < 0 else "+"
    d, drem = divmod(abs(dec) * 3600, 3600)
    dm, ds = divmod(drem, 60)
    return f"J{int(h):02d}{int(m):02d}{int(sec * 100) / 100:05.2f}{sign}{int(d):02d}{int(dm):02d}{int(ds * 100) / 100:05.2f}"


def votable_bytes(table: Table) -> bytes:
    vot = from_table(table)
    vot.resources[0].name = download.VIZIER_CATALOGUE
    tab = vot.resources[0].tables[0]
    tab.name = download.VIZIER_TABLE
    tab.description = "Catalog of detailed visual morphological classifications (Nair+, 2010)"
    for f in tab.fields:                            # VizieR-like field metadata: UCDs, units, links
        f.description = f"{f.name} column of the catalogue"
        if f.name == "SDSS":
            f.ucd = "meta.id;meta.main"
            f.links.append(Link(href="http://skyserver.sdss.org/dr7/en/tools/explore/obj.asp?ra=${_RAJ2000}&dec=${_DEJ2000}"))
        elif f.name in ("_RAJ2000", "RAJ2000"):
            f.ucd, f.unit = "pos.eq.ra", "deg"
        elif f.name in ("_DEJ2000", "DEJ2000"):
            f.ucd, f.unit = "pos.eq.dec", "deg"
        elif f.name == "gmag":
            f.unit = "mag"
    buf = BytesIO()
    vot.to_xml(buf)
    return buf.getvalue()


def paper_ttypes() -> np.ndarray:
    """14034 T-types spread over -5, -3..0, 1..9, 10, 99 in the paper's class counts."""
    rng = np.random.default_rng(0)
    parts = [np.full(PAPER_COUNTS["E"], -5), rng.choice([-3, -2, -1, 0], PAPER_COUNTS["S0"]),
             rng.choice(np.arange(1, 10), PAPER_COUNTS["Sp"]), rng.choice([10, 99], PAPER_COUNTS["Irr+Misc"])]
    return rng.permutation(np.concatenate(parts))


def small_catalogue(n_per_class: int = 6) -> Table:
    tt = np.concatenate([np.full(n_per_class, t) for t in (-5, -2, 4, 10)])
    return download.standardise(make_raw_catalogue(tt), expected_rows=None)


# ----------------------------------------------------------------------------- fixture: the server

class FakeServices(ThreadingHTTPServer):
    """hips2fits, SkyServer getjpeg and VizieR votable, with programmable faults."""

    daemon_threads = True

    def __init__(self, catalogue: Table | None = None):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.names: list[str] = []
        self.pos = np.zeros((0, 2))
        self.images: dict[str, np.ndarray] = {}                  # name -> its g cutout (else galaxy_image)
        self.faults: dict[str, list[str]] = defaultdict(list)   # name -> behaviours, one per request
        self.default: dict[str, str] = {}                        # name -> behaviour once the list is used
        self.hits: Counter = Counter()
        self.delay = 0.0
        self.slow_s = 1.5
        self.votable = b""
        self.vizier_faults: list[str] = []
        self.vizier_posts: list[str] = []
        self.lock = threading.Lock()
        if catalogue is not None:
            self.add(catalogue)

    def add(self, cat: Table):
        self.names += [str(n) for n in cat["name"]]
        self.pos = np.vstack([self.pos, np.column_stack([cat["ra"], cat["dec"]])])

    def lookup(self, ra: float, dec: float) -> str | None:
        """The galaxy at a position (to 1e-6 deg, as a real service finds its pixels), or None."""
        if not self.names:
            return None
        d = np.abs(self.pos - [ra, dec]).max(axis=1)
        i = int(np.argmin(d))
        return self.names[i] if d[i] < 1e-6 else None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def behaviour(self, name: str) -> str:
        with self.lock:
            self.hits[name] += 1
            if self.faults[name]:
                return self.faults[name].pop(0)
            return self.default.get(name, "ok")


class _Handler(BaseHTTPRequestHandler):
    server: FakeServices

    def log_message(self, *args):  # keep the test output clean
        pass

    def _send(self, code: int, body: bytes, ctype: str = "application/octet-stream", length: int | None = None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path.endswith("/hips2fits"):
            if q.get("hips") != download.HIPS_SURVEY or q.get("format") != "fits":
                return self._send(400, b'{"title": "bad request"}', "application/json")
            kind = "fits"
        elif url.path.endswith("/getjpeg"):
            kind = "jpeg"
        else:
            return self._send(404, b"no such service")
        name = self.server.lookup(float(q["ra"]), float(q["dec"]))
        if name is None:
            return self._send(404, b"unknown position")
        how = self.server.behaviour(name)
        if self.server.delay:
            time.sleep(self.server.delay)
        image = self.server.images[name] if name in self.server.images else galaxy_image(name)
        body = fits_bytes(image) if kind == "fits" else jpeg_bytes(name)
        try:
            if how == "ok":
                self._send(200, body, "image/fits" if kind == "fits" else "image/jpeg")
            elif how == "slow":                       # answers after the client has given up
                time.sleep(self.server.slow_s)
                self._send(200, body)
            elif how in ("500", "503", "404"):
                self._send(int(how), b'{"title": "Internal error", "description": "try later"}', "application/json")
            elif how == "truncated":                  # a complete HTTP answer holding half a FITS file
                self._send(200, body[: len(body) // 2])
            elif how == "drop":                       # the connection dies midway through the body
                self._send(200, body[: len(body) // 3], length=len(body))
                self.close_connection = True
            elif how == "corrupt":                    # right length, garbage inside
                self._send(200, b"SIMPLE  = garbage" + bytes(len(body) - 17))
            elif how == "html":
                self._send(200, b"<html><body>Service temporarily unavailable</body></html>", "text/html")
            elif how == "blank":                      # outside the footprint: all NaN
                self._send(200, fits_bytes(np.full((110, 110), np.nan, np.float32)))
            elif how == "zeros":
                self._send(200, fits_bytes(np.zeros((110, 110), np.float32)))
            elif how == "wrongshape":
                self._send(200, fits_bytes(galaxy_image(name)[:100, :100]))
            else:
                raise AssertionError(how)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_POST(self):
        if not self.path.endswith("/viz-bin/votable"):
            return self._send(404, b"no such service")
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        self.server.vizier_posts.append(body)
        how = self.server.vizier_faults.pop(0) if self.server.vizier_faults else "ok"
        if how == "ok":
            self._send(200, self.server.votable, "text/xml")
        elif how == "500":
            self._send(500, b"<html>Internal Server Error</html>", "text/html")
        elif how == "drop":
            self._send(200, self.server.votable[:1000], "text/xml", length=len(self.server.votable))
            self.close_connection = True


@pytest.fixture
def services():
    srv = FakeServices()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def hips(srv) -> str:
    return srv.url + "/hips-image-services/hips2fits"


def report_rows(path) -> dict[str, str]:
    with open(path) as f:
        return {r["name"]: r["reason"] for r in csv.DictReader(f)}


def no_partial_files(d) -> bool:
    return not list(d.glob(".*.part")) and not list(d.glob("*.part")) and not list(d.glob("*.tmp"))
