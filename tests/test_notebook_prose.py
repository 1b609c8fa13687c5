"""Prose that a rerun cannot contradict: no number in a notebook's markdown may depend on a run.

A rerun on another machine, precision or seed moves every measured number, so a measured number belongs in
a code cell's output (a sentence written from the results with ``IPython.display.Markdown``), never in a
markdown cell. This test reads every markdown cell of every notebook and accepts a number only if it cannot
change with a run: a number the paper reports (``helpers.paper``), a count or setting fixed in the code
(class counts, T-types, profiles, image geometry), a year, a small count (12 or less), or one listed below
for its notebook with the reason it is fixed. Anything else fails with the notebook, the cell and the
number, so that a measured number cannot slip back into prose.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from helpers import data, galaxy10, paper, train
from helpers.classes import NA10_TTYPES, PAPER_COUNTS, PAPER_N, T_BOUNDARIES

NOTEBOOKS = sorted((data.ROOT / "notebooks").glob("0*.ipynb"))
NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")


def _fixed_numbers() -> set[float]:
    values = set()
    for v in paper.ACCURACY.values():
        values |= {v, round(100 * v)}
    for m in paper.CONFUSION_C2.values():
        values |= {float(x) for x in np.ravel(m)} | {round(100 * float(x)) for x in np.ravel(m)}
    values |= set(PAPER_COUNTS.values()) | {PAPER_N, PAPER_N - PAPER_COUNTS["Irr+Misc"]} | set(NA10_TTYPES)
    values |= {round(100 * k / PAPER_N) for k in PAPER_COUNTS.values()} | set(T_BOUNDARIES)
    for profiles in (train.PROFILES, galaxy10.PROFILES):
        for p in profiles.values():
            values |= {p.n_galaxies, p.input_size, p.batch_size, p.lr, p.max_epochs, p.patience}
    values |= {data.STAMP, data.CROP, data.N_VIEWS, galaxy10.STAMP, galaxy10.CROP, galaxy10.N_REAL}
    values |= {95, 506, 659}   # 95 % intervals; the paper is MNRAS 506, 659
    return values


FIXED = _fixed_numbers()

# Numbers fixed by the code or the literature that the rules above do not know, per notebook, with why.
ALLOWED = {
    "01_data_preparation": {
        "1.4": "the mock PSF's typical FWHM (arcsec)",
        "90": "a quarter turn (deg)", "180": "a half turn (deg)", "270": "three quarter turns (deg)",
        "39": "the last of the 40 views' indices",
        "0.396": "SDSS pixel scale (arcsec)",
        "0.79": "the CPU profiles' binned pixel scale, 2 x 0.396",
        "22": "the 40 views of 14034 galaxies as float32 take 22 GB (14034 x 40 x 100 x 100 x 4 bytes)",
        "16": "Nair & Abraham's g < 16 limit",
        "0.01": "Nair & Abraham's redshift range",
        "0.1": "Nair & Abraham's redshift range",
        "15": "the split: 15 % test, 15 % of the rest validation",
        "1.3": "one expert's T-type scatter (Naim et al. 1995), mock.NA10_LABELS",
        "1.8": "two experts' T-type rms difference (Naim et al. 1995)",
        "2.3": "Naim et al. 1995's largest pairwise rms difference",
        "831": "galaxies classified by Naim et al. (1995)'s six experts",
        "195": "realism.CROP: the central crop of the real cutouts (px)", "423": "the real cutouts' size (px)",
        "0.024": "realism.GZ1_R90_PER_PX: GZ1's cutout scale", "4.68": "the crop's span in R90, 195 x 0.024",
        "17.77": "the SDSS main sample's r limit", "0.25": "GZ1's redshift limit",
        "1.5": "mock.GZ1: the mergers' least separation (seeing FWHM)", "75": "GZ1's JPEG quality",
        "50": "realism.Stretch: the frame JPEG's quality", "255": "8-bit pixel values",
        "0.4": "realism.NOISE_SCALE: the comparison's sky noise scale",
    },
    "02_pytorch_3way_4way": {
        "2,393,412": "C2's parameter count at 100x100 without batch norm, as the paper's layer list implies",
        "55": "the spirals' share of the paper's sample, 7708 / 14034",
        "75": "the band the checks hold the long runs' C2 4-way accuracy to (75-90 %)",
        "90": "the band the checks hold the long runs' C2 4-way accuracy to (75-90 %)",
        "1.3": "one expert's T-type scatter (Naim et al. 1995), mock.NA10_LABELS",
        "1.8": "two experts' T-type rms difference (Naim et al. 1995)",
        "831": "galaxies classified by Naim et al. (1995)'s six experts",
    },
    "03_binary_and_hierarchical": {
        "2.8": "Irr+Misc's share of the paper's sample, 388 / 14034",
        "35": "E|S0|Sp outnumber Irr+Misc 13646 to 388",
        "500": "hierarchy's minimum epoch size, in quick under 500 distinct training galaxies",
        "1024": "train.recalibrate_batchnorm's galaxies",
        "32": "about half of a batch of 64",
        "0.5": "a coin toss; the tree's threshold",
    },
    "04_keras_galaxy10": {
        "69": "Galaxy10's image size", "64": "Galaxy10's crop", "0.5": "a coin toss",
        "84.3": "the earlier student reproduction's reported C2 4-way accuracy",
        "0.15": "mock.COLOURS: the knots' g-r", "0.396": "SDSS pixel scale (arcsec)",
        "4.14": "galaxy10.FIELD_R90: GZ2's frame in Petrosian R90", "600": "the real Galaxy10-geometry sample's size",
        "0.3": "an E7's axis ratio", "17": "Galaxy10's class-5 galaxies (documented count)",
        "13638": "the earlier reproduction's count of ellipticals", "45": "13683 - 13638 = 21830 - 21785",
        "21830": "the sum of Galaxy10's documented class counts",
        "70": "the split: 70 % train", "15": "the split: 15 % validation, 15 % test",
    },
    "05_interpretation": {
        "450": "the quick profile's test galaxies: 15 % of 3000",
        "2106": "the full profile's test galaxies: 15 % of 14034",
    },
}


def _markdown_cells(path: Path):
    cells = json.loads(path.read_text())["cells"]
    return [(i, "".join(c["source"])) for i, c in enumerate(cells) if c["cell_type"] == "markdown"]


def _is_fixed(token: str, allowed: dict) -> bool:
    if token in allowed:
        return True
    value = float(token.replace(",", ""))
    if value.is_integer() and (abs(value) <= 12 or 1900 <= value <= 2099):
        return True
    return any(np.isclose(value, v) for v in FIXED)


def _prose(text: str) -> str:
    """The markdown without code spans, code blocks and links' targets (names like C2 or 02_... are not numbers)."""
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return re.sub(r"\b[A-Za-z]+\d+\w*", " ", text)   # C2, g10, R90, SDSS9: names, not numbers


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_markdown_holds_no_number_that_a_rerun_can_change(path):
    allowed = ALLOWED.get(path.stem, {})
    found = [(i, token) for i, text in _markdown_cells(path) for token in NUMBER.findall(_prose(text))
             if not _is_fixed(token, allowed)]
    assert not found, (f"{path.name}: numbers in markdown cells that a rerun can change (write them from the "
                       f"results in a code cell, or add a fixed one to ALLOWED with its reason): {found}")


def test_the_check_catches_a_measured_number():
    assert not _is_fixed("79.4", {}) and not _is_fixed("0.748", {})
    assert _is_fixed("83", {}) and _is_fixed("14034", {}) and _is_fixed("2021", {}) and _is_fixed("0.27", {})
    assert NUMBER.findall(_prose("C2 reaches `0.9` and 79.4 % ([fig](figures/x_2.png)), R90 of 3")) == ["79.4", "3"]
