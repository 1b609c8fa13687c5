"""helpers.download against a server these tests start on 127.0.0.1 (``fake_sdss``): never the internet.

The server answers like the real services: hips2fits (GET, FITS cutouts), the SDSS SkyServer JPEG
cutouts, and VizieR's votable CGI (POST, as astroquery sends it). Faults are programmed per galaxy:
slow answers (beyond the client's timeout), 5xx then success, truncated and corrupt files, blank
images, a connection dropped midway, and a download interrupted midway and resumed.
"""
from __future__ import annotations

import csv
import json
import re
from collections import Counter
from urllib.parse import parse_qs, urlparse

import h5py
import numpy as np
import pytest
from astropy.io import fits
from corruption import rewrite_without_checksums
from fake_sdss import (fits_bytes, galaxy_image, hips, make_raw_catalogue, no_partial_files, paper_ttypes,  # noqa: F401
                       report_rows, sdss_name, services, small_catalogue, votable_bytes)

from helpers import data, download
from helpers.classes import CLASSES, PAPER_COUNTS, PAPER_N, ttypes_to_labels

FAST = dict(workers=4, retries=3, timeout=0.5, backoff=0.01, progress=False)


# ----------------------------------------------------------------------------- URLs and validation

def test_cutout_url_has_the_hips2fits_parameters():
    q = parse_qs(urlparse(download.cutout_url(150.1, -2.5)).query)
    assert q["hips"] == ["CDS/P/SDSS9/g"] and q["format"] == ["fits"] and q["projection"] == ["TAN"]
    assert q["width"] == ["110"] and q["height"] == ["110"]
    assert float(q["ra"][0]) == pytest.approx(150.1) and float(q["dec"][0]) == pytest.approx(-2.5)
    assert float(q["fov"][0]) == pytest.approx(110 * 0.396 / 3600)
    assert download.cutout_url(1, 2).startswith("https://alasky.cds.unistra.fr/hips-image-services/hips2fits?")


def test_fits_validation_names_what_is_wrong():
    good = fits_bytes(galaxy_image("a"))
    img, frac = download.read_fits_cutout(good)
    assert img.shape == (110, 110) and img.dtype == np.float32 and frac == 0
    cases = {
        good[: len(good) // 2]: "truncated",
        good[:100]: "not a FITS",
        b"<html>oops</html>": "not a FITS",
        fits_bytes(np.full((110, 110), np.nan, np.float32)): "blank",
        fits_bytes(np.full((110, 110), 3.0, np.float32)): "constant",
        fits_bytes(galaxy_image("a")[:100, :100]): "shape",
    }
    for content, words in cases.items():
        with pytest.raises(download.CutoutError, match=words):
            download.read_fits_cutout(content)
    download.read_fits_cutout(good, scale_arcsec=0.396)
    with pytest.raises(download.CutoutError, match="pixel scale 0.3960 arcsec, expected 0.7"):
        download.read_fits_cutout(good, scale_arcsec=0.7)
    partly = galaxy_image("a")
    partly[:3, :3] = np.nan                   # a few blank pixels are filled, not fatal
    img, frac = download.read_fits_cutout(fits_bytes(partly))
    assert np.isfinite(img).all() and 0 < frac < 0.01


# ----------------------------------------------------------------------------- downloads

def test_download_all_then_rerun_skips_valid_files(services, tmp_path):
    cat = small_catalogue(3)
    services.add(cat)
    out = tmp_path / "raw" / "sdss_g"
    rep = download.fetch_cutouts(cat, out, base_url=hips(services), **FAST)
    assert rep.complete and len(rep.downloaded) == len(cat) and not rep.failed
    assert report_rows(tmp_path / "raw" / "sdss_g_failures.csv") == {}
    for row in cat:
        img, _ = download.read_fits_cutout(download.cutout_path(out, row["name"]))
        np.testing.assert_array_equal(img, galaxy_image(str(row["name"])))
    assert no_partial_files(out)
    hits = sum(services.hits.values())
    rep2 = download.fetch_cutouts(cat, out, base_url=hips(services), **FAST)
    assert rep2.complete and len(rep2.skipped) == len(cat) and not rep2.downloaded
    assert sum(services.hits.values()) == hits     # nothing fetched again


def test_faults_are_retried_or_reported_never_kept(services, tmp_path):
    cat = small_catalogue(3)                        # 12 galaxies
    services.add(cat)
    names = [str(n) for n in cat["name"]]
    transient = {names[0]: ["500", "500"], names[1]: ["slow"], names[2]: ["truncated"],
                 names[3]: ["drop"], names[4]: ["503", "corrupt", "html"]}
    permanent = {names[5]: "blank", names[6]: "zeros", names[7]: "wrongshape", names[8]: "404"}
    for k, v in transient.items():
        services.faults[k] = list(v)
    for k, v in permanent.items():
        services.default[k] = v
    services.default[names[9]] = "500"              # fails more often than the retries allow
    out = tmp_path / "sdss_g"
    report_path = tmp_path / "failures.csv"
    rep = download.fetch_cutouts(cat, out, base_url=hips(services), report_path=report_path, **FAST)

    assert not rep.complete
    failed = report_rows(report_path)
    assert set(failed) == set(permanent) | {names[9]} == set(rep.failed)
    assert "blank" in failed[names[5]] and "blank" in failed[names[6]]
    assert "shape" in failed[names[7]] and "HTTP 404" in failed[names[8]]
    assert "HTTP 500" in failed[names[9]] and "after 4 attempts" in failed[names[9]]
    for k in permanent:                             # a permanent fault is not asked again and again
        assert services.hits[k] == 1
    assert services.hits[names[9]] == 4             # 1 + 3 retries
    for k, v in transient.items():                  # the transient ones came through on a retry
        assert services.hits[k] == len(v) + 1
        download.read_fits_cutout(download.cutout_path(out, k))
    for k in failed:                                # nothing unusable left on disk
        assert not download.cutout_path(out, k).exists()
    assert no_partial_files(out)

    # the services recover: a rerun fetches only what failed, and completes
    services.default.clear()
    before = Counter(services.hits)
    rep2 = download.fetch_cutouts(cat, out, base_url=hips(services), report_path=report_path, **FAST)
    assert rep2.complete and sorted(rep2.downloaded) == sorted(failed)
    assert {k for k in services.hits if services.hits[k] != before[k]} == set(failed)
    assert report_rows(report_path) == {}


def test_mirrors_are_used_in_turn(services, tmp_path):
    cat = small_catalogue(1)
    services.add(cat)
    dead = "http://127.0.0.1:9/hips2fits"           # nothing listens on port 9: connection refused
    rep = download.fetch_cutouts(cat, tmp_path / "c", base_url=[dead, hips(services)], **FAST)
    assert rep.complete and len(rep.downloaded) == len(cat)


def test_interrupted_download_resumes_to_completion(services, tmp_path):
    cat = small_catalogue(8)                        # 32 galaxies
    services.add(cat)
    services.delay = 0.02
    out = tmp_path / "sdss_g"
    out.mkdir()
    done = []

    def interrupt_after_five(key, status, reason):
        done.append(key)
        if len(done) == 5:
            raise KeyboardInterrupt                 # as Ctrl-C would, in the calling thread

    report_path = tmp_path / "failures.csv"
    with pytest.raises(KeyboardInterrupt):
        download.fetch_cutouts(cat, out, base_url=hips(services), report_path=report_path,
                               on_file=interrupt_after_five, **FAST)
    on_disk = sorted(out.glob("*.fits"))
    assert 5 <= len(on_disk) < len(cat)
    for p in on_disk:                               # only complete, valid files are left
        download.read_fits_cutout(p)
    assert no_partial_files(out)
    listed = report_rows(report_path)               # the report says what is not there yet
    assert len(listed) == len(cat) - len(on_disk)
    assert all("interrupted" in r for r in listed.values())

    # a killed run may also leave a temporary file, and an older tool a truncated final one
    (out / ".stale.fits.999.part").write_bytes(b"half")
    victim = on_disk[0]
    victim.write_bytes(fits_bytes(galaxy_image("x"))[:5000])

    rep = download.fetch_cutouts(cat, out, base_url=hips(services), report_path=report_path, **FAST)
    assert rep.complete
    assert len(rep.skipped) == len(on_disk) - 1 and len(rep.downloaded) == len(cat) - len(on_disk) + 1
    assert no_partial_files(out) and len(list(out.glob("*.fits"))) == len(cat)
    assert services.hits[victim.stem] == 2
    assert sum(services.hits.values()) == len(cat) + 1  # every other galaxy was fetched exactly once
    assert report_rows(report_path) == {}


# ----------------------------------------------------------------------------- the HDF5 set

def test_build_set_from_cutouts(services, tmp_path):
    cat = small_catalogue(8)
    services.add(cat)
    out = tmp_path / "sdss_g"
    assert download.fetch_cutouts(cat, out, base_url=hips(services), **FAST).complete
    h5 = download.build_sdss_set(cat, out, tmp_path / "sdss.h5", seed=3, progress=False)
    s = data.load(h5)
    assert len(s) == len(cat) and s.attrs["source"] == "sdss" and s.attrs["pixel_scale_arcsec"] == 0.396
    assert s.attrs["band"] == "g" and len(s.attrs["missing_galaxy_ids"]) == 0
    np.testing.assert_array_equal(s.galaxy_id, cat["galaxy_id"])
    np.testing.assert_array_equal(s.labels, ttypes_to_labels(cat["ttype"]))
    np.testing.assert_array_equal(s.meta["ttype"], cat["ttype"])
    np.testing.assert_allclose(s.meta["ra"], cat["ra"])
    np.testing.assert_allclose(s.meta["log_mstar"], np.asarray(cat["log_mstar"], np.float32))
    assert [n.decode() for n in s.meta["sdss_name"]] == list(cat["name"])
    for i in (0, 17):
        np.testing.assert_array_equal(s.images[i], galaxy_image(str(cat["name"][i])))
    np.testing.assert_array_equal(s.split, data.split_by_galaxy(s.labels, seed=3))
    data.check_no_leakage(s.galaxy_id, s.split)
    assert json.loads(s.attrs["catalogue_columns"])["ttype"] == "TType"


def test_build_refuses_a_partial_set_unless_allowed(services, tmp_path):
    cat = small_catalogue(8)
    services.add(cat)
    lost = str(cat["name"][5])
    services.default[lost] = "blank"
    out = tmp_path / "sdss_g"
    rep = download.fetch_cutouts(cat, out, base_url=hips(services), **FAST)
    assert set(rep.failed) == {lost}
    target = tmp_path / "sdss.h5"
    with pytest.raises(download.IncompleteDataError, match=re.escape(lost)) as err:
        download.build_sdss_set(cat, out, target, progress=False)
    assert set(err.value.missing) == {lost} and not target.exists()
    assert lost in (tmp_path / "sdss.h5.missing.csv").read_text()

    download.build_sdss_set(cat, out, target, allow_missing=True, progress=False)
    s = data.load(target)
    assert len(s) == len(cat) - 1 and lost.encode() not in set(s.meta["sdss_name"])
    assert s.attrs["missing_galaxy_ids"].tolist() == [int(cat["galaxy_id"][5])]
    assert json.loads(s.attrs["missing_names"]) == [lost]


def test_colour_jpegs_give_the_blue_channel(services, tmp_path):
    cat = small_catalogue(8)
    services.add(cat)
    rep = download.fetch_colour_jpegs(cat, tmp_path / "jpg", base_url=services.url + "/SkyServerWS/ImgCutout/getjpeg",
                                      **FAST)
    assert rep.complete
    name = str(cat["name"][0])
    g = download.read_jpeg_g_proxy(download.cutout_path(tmp_path / "jpg", name, ".jpg"))
    expected = np.clip(galaxy_image(name) * 4 + 20, 0, 255).astype(np.uint8)
    assert np.abs(g - expected).mean() < 3          # the blue channel, not the constant red (200) or green
    s = data.load(download.build_sdss_set(cat, tmp_path / "jpg", tmp_path / "jpeg.h5", image_format="jpeg",
                                          progress=False))
    assert s.attrs["source"] == "sdss-jpeg-blue" and len(s) == len(cat)
    np.testing.assert_array_equal(s.images[0], g)


# ----------------------------------------------------------------------------- the catalogue

def test_catalogue_through_astroquery_gives_the_paper_class_counts(services, tmp_path):
    raw = make_raw_catalogue(paper_ttypes())
    services.votable = votable_bytes(raw)
    services.vizier_faults = ["500", "drop"]        # a server error, then an answer cut midway
    cat = download.fetch_catalogue(tmp_path / "raw", server=services.url, backoff=0.01, timeout=10)
    assert len(cat) == PAPER_N == 14034
    assert download.class_counts(cat) == PAPER_COUNTS == {"E": 2723, "S0": 3215, "Sp": 7708, "Irr+Misc": 388}
    assert len(services.vizier_posts) == 3
    post = services.vizier_posts[-1]
    assert f"-source={download.VIZIER_TABLE}" in post and "-out.max=unlimited" in post
    assert "-out.all" in post and "_RAJ2000" in post
    # standardised: sorted by name, ids 1..N, positions, flags and the masked masses as NaN
    assert list(cat["name"]) == sorted(raw["SDSS"])
    np.testing.assert_array_equal(cat["galaxy_id"], np.arange(1, PAPER_N + 1))
    by_name = {str(n): i for i, n in enumerate(raw["SDSS"])}
    j = by_name[str(cat["name"][100])]
    assert cat["ra"][100] == pytest.approx(raw["_RAJ2000"][j]) and cat["ttype"][100] == raw["TType"][j]
    assert np.isnan(cat["log_mstar"]).sum() == np.ma.count_masked(raw["logM"])
    assert cat.meta["column_map"]["log_mstar"] == "logM" and cat.meta["column_map"]["z"] == "z"
    assert [CLASSES[k] for k in cat["label"][:3]]    # labels are valid class indices

    # cached (ECSV, atomically written): the second call does not ask VizieR
    cache = tmp_path / "raw" / download.CATALOGUE_FILE
    assert cache.exists() and no_partial_files(cache.parent)
    again = download.fetch_catalogue(tmp_path / "raw", server=services.url)
    assert len(services.vizier_posts) == 3 and download.class_counts(again) == PAPER_COUNTS
    # a damaged cache is noticed and fetched again
    cache.write_text(cache.read_text()[: len(cache.read_text()) // 2])
    again = download.fetch_catalogue(tmp_path / "raw", server=services.url)
    assert len(services.vizier_posts) == 4 and len(again) == PAPER_N


def test_catalogue_errors_are_clear(services, tmp_path):
    tt = paper_ttypes()[:200]
    with pytest.raises(download.CatalogueError, match="200 rows, expected 14034"):
        download.standardise(make_raw_catalogue(tt))
    bad = make_raw_catalogue(tt)
    bad["TType"][7] = -4                            # not in the catalogue's vocabulary
    with pytest.raises(download.CatalogueError, match=r"T-types outside .*-4"):
        download.standardise(bad, expected_rows=None)
    dup = make_raw_catalogue(tt)
    dup["SDSS"][3] = dup["SDSS"][4]
    with pytest.raises(download.CatalogueError, match="not unique"):
        download.standardise(dup, expected_rows=None)
    text = make_raw_catalogue(tt)
    text["TType"] = text["TType"].astype(str)
    text["TType"][11] = "Sa"
    with pytest.raises(download.CatalogueError, match="'TType', row 11: 'Sa' is not a number"):
        download.standardise(text, expected_rows=None)
    nott = make_raw_catalogue(tt)
    nott.remove_column("TType")
    with pytest.raises(download.CatalogueError, match="ttype"):
        download.standardise(nott, expected_rows=None)
    # VizieR keeps failing: a clear error after the retries, and nothing cached
    services.vizier_faults = ["500"] * 3
    with pytest.raises(download.CatalogueError, match="after 3 attempts.*HTTP 500"):
        download.fetch_catalogue(tmp_path / "raw", server=services.url, retries=2, backoff=0.01)
    assert not (tmp_path / "raw" / download.CATALOGUE_FILE).exists()


# ----------------------------------------------------------------------------- the command line

def test_command_line_end_to_end(services, tmp_path, capsys):
    raw = make_raw_catalogue(np.concatenate([np.full(8, t) for t in (-5, -1, 6, 99)]))
    services.votable = votable_bytes(raw)
    services.add(download.standardise(raw, expected_rows=None))
    out = tmp_path / "processed" / "sdss.h5"
    args = ["--dataset", "sdss", "--out", str(out), "--raw-dir", str(tmp_path / "raw"),
            "--vizier-server", services.url, "--cutout-url", hips(services), "--expected-rows", "0",
            "--timeout", "2", "--backoff", "0.01", "--no-progress"]
    lost = str(sorted(raw["SDSS"])[2])
    services.default[lost] = "500"
    assert download.main(args + ["--retries", "1"]) == 1      # refuses to build a partial set
    assert not out.exists() and lost in capsys.readouterr().err
    services.default.clear()
    assert download.main(args) == 0                           # the rerun fetches the rest and builds
    s = data.load(out)
    assert len(s) == 32 and s.attrs["source"] == "sdss"
    assert download.main(args) == 0 and "already there" in capsys.readouterr().out
    rewrite_without_checksums(out)                            # a set written before checksums were stored
    assert download.main(args) == 0 and "written without checksums" in capsys.readouterr().out
    with h5py.File(out, "r") as f:                            # rebuilt from the cached cutouts, now checked
        assert all(f[k].fletcher32 for k in data.REQUIRED)
    assert np.array_equal(data.load(out).images, s.images)
