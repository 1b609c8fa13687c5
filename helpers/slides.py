"""The classroom deck: a 20-minute talk built from figures/ and results/ (``make slides``).

``python -m helpers.slides`` writes ``presentations/slides.html``: one self-contained file (inline CSS
and JavaScript, every figure embedded as base64 PNG) that opens offline in any browser. Arrow keys,
space, Page Up/Down, Home/End or a click move between slides, ``N`` shows the speaker notes of the
slide, ``V`` (or ``#notes`` in the address) the notes view, which prints as a handout; ``#5`` opens
slide 5; printing the deck gives one slide per page. With ``--pdf`` (``make slides`` where Chromium is
installed) headless Chromium checks that every slide fits its 1280x720 frame at 1280x720 and
1920x1080, with no text under 18 px and every image loaded, and prints ``presentations/slides.pdf``.

The deck is the list ``SLIDES``: adding a slide is one entry (a name, a title that states the slide's
message, a figure under figures/, a few short lines, speaker notes). Titles, lines and notes may be
functions of the results records (:class:`Results`), so that every number, and every message a title
states, is read from ``results/*.json`` (or ``helpers.paper``) when the deck is built. A slide whose
figure or results are missing, whose text runs over ``MAX_WORDS``, or that does not fit its frame
fails the build with the slide's name. Long tables go to an appendix after the closing slide, split
over as many slides as they need.
"""
from __future__ import annotations

import argparse
import base64
import functools
import html
import math
import re
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

import numpy as np

from . import data, paper, report
from .classes import CLASSES, LONG_NAMES, PAPER_COUNTS, scheme_classes
from .mock import NA10_LABELS

OUT = data.ROOT / "presentations" / "slides.html"
WIDTH, HEIGHT = 1280, 720   # the slide frame, CSS pixels; the deck is scaled to the window
MAX_WORDS = 45              # the text of a slide ("about 40 words"), its title, notes and source line apart
MIN_FONT_PX = 18            # no text of a slide smaller than this at 1280x720
VIEWPORTS = ((1280, 720), (1920, 1080))
TOPICS = ("data", "pytorch", "binary", "hierarchical", "keras_galaxy10", "galaxy10_rebalancing", "interpretation",
          "realism", "realism_galaxy10")

e = html.escape


class SlideError(ValueError):
    """A slide that cannot be built, or does not fit: the message names the slide."""


class Results:
    """The results records, by topic, that slide titles, text and notes are computed from."""

    def __init__(self, results_dir=None):
        self.results_dir = results_dir
        self.topic = {t: report.load(t, results_dir) for t in TOPICS}

    def runs(self, topic: str, **match) -> list[dict]:
        return [r for r in self.topic[topic] if all(r.get(k) == v for k, v in match.items())]

    def best(self, topic: str, model: str, scheme: str) -> list[dict]:
        """Records of (model, scheme) at the most faithful profile (see report.most_faithful) of today's
        mock generator."""
        for (m, s, _, variant, _), rs in report.most_faithful(self.topic[topic]).items():
            if (m, s) == (model, scheme) and not variant and not report.older_generator(rs[0]):
                return rs
        raise LookupError(f"no {model} {scheme} records in results/{topic}.json")

    def one(self, topic: str, **match) -> list[dict]:
        rs = self.runs(topic, **match)
        if not rs:
            raise LookupError(f"no record of {match} in results/{topic}.json")
        return rs


Text = str | Callable[[Results], str]


@dataclass
class Slide:
    name: str                              # short id, named in every error
    title: Text                            # a sentence that states the slide's message
    figure: str | None = None              # figures/<figure>.png
    text: list | Callable = field(default_factory=list)  # a few short lines (HTML)
    notes: Text = ""                       # speaker notes (HTML)
    table: list | Callable | None = None   # header row first; cells are HTML
    source: Text = ""                      # where the numbers come from (small print)
    appendix: bool = False


def _value(x, res):
    return x(res) if callable(x) else x


# ----------------------------------------------------------------------------- numbers, in words

def pct(x, digits: int = 0) -> str:
    return f"{100 * float(x):.{digits}f} %"


def recall(rs: list[dict], cls: str) -> float:
    return float(np.mean([r["per_class"][cls]["recall"] for r in rs]))


def confusion_share(rs: list[dict], true: str, predicted: str) -> float:
    """The share of class ``true`` called ``predicted``, pooled over the records' confusion counts."""
    cm = sum(np.asarray(r["confusion"], dtype=float) for r in rs)
    classes = rs[0]["classes"]
    i, j = classes.index(true), classes.index(predicted)
    return cm[i, j] / cm[i].sum()


def repo(res: Results, model: str, scheme: str) -> list[dict]:
    """The runs at the profile that stands for the repository (what the committed notebooks show)."""
    return res.one("pytorch", model=model, scheme=scheme, profile=report.REPOSITORY_PROFILE)


def hardest(rs: list[dict], classes=("E", "S0", "Sp")) -> str:
    return min(classes, key=lambda c: recall(rs, c))


PARAMETER_WORDS = {  # how a galaxy differs when a parameter is higher, and when it is lower
    "log_mstar": ("more massive", "less massive"), "r_half_kpc": ("larger", "smaller"),
    "r_half_arcsec": ("larger on the sky", "smaller on the sky"), "z": ("further away", "nearer"),
    "bulge_fraction": ("more bulge-dominated", "less bulge-dominated"), "inclination_deg": ("more edge-on", "more face-on"),
    "snr": ("of higher S/N", "of lower S/N"), "g_mag": ("fainter", "brighter")}


def claim(res: Results, name: str) -> tuple[dict, dict]:
    """The most faithful 4-way interpretation record that tested the claim ``name`` (notebook 05:
    "mass_claim", "boundary_claim"), and the claim."""
    rs = [r for r in res.topic["interpretation"] if r.get("scheme") == "4way" and r.get(name)]
    if not rs:
        raise LookupError(f"no {name} in results/interpretation.json (notebook 05)")
    r = min(rs, key=lambda r: report._rank(r.get("profile")))
    return r, r[name]


def mass_claim(res: Results) -> tuple[dict, dict]:
    return claim(res, "mass_claim")


def other_differences(r: dict, true: str = "S0", predicted: str = "E", n: int = 2) -> list[str]:
    """The strongest Holm-significant differences besides mass for one confusion, in words."""
    tests = next((x["tests"] for x in r.get("confusions", []) if (x["true"], x["predicted"]) == (true, predicted)), [])
    strong = sorted((t for t in tests if t["p_holm"] < 0.05 and t["parameter"] not in ("log_mstar", "r_half_arcsec")),
                    key=lambda t: -abs(t["rank_biserial"]))
    return [PARAMETER_WORDS[t["parameter"]][t["rank_biserial"] < 0] for t in strong[:n] if t["parameter"] in PARAMETER_WORDS]


def sim_to_real(res: Results) -> np.ndarray:
    return np.array([r["balanced_accuracy"] for r in report.sim_to_real(res.topic["realism"], "mock")])


def ceiling(res: Results) -> np.ndarray:
    """Balanced accuracies of the real-trained ceiling (make realism), one per seed."""
    return np.array([r["balanced_accuracy"] for r in res.one("realism", scheme="real-trained")])


def discriminator(res: Results) -> dict:
    """The discriminator's record for the mock (make realism)."""
    return res.one("realism", scheme="discriminator", dataset="mock")[0]


def boundary(res: Results) -> tuple[dict, dict]:
    return claim(res, "boundary_claim")


def shape_statistics(res: Results) -> tuple[int, int]:
    """(statistics with KS below 0.2, all) over the three groups of make realism's statistics record."""
    st = res.one("realism", scheme="statistics")[0]
    ks = [v for k, v in st["ks"].items() if k.rsplit("/", 1)[-1] in st["shape_statistics"]]
    return sum(v < 0.2 for v in ks), len(ks)


def binary_balanced(res: Results) -> dict[str, float]:
    """{'E vs Sp': balanced accuracy} for the six pairs of single classes."""
    out = {}
    for r in res.topic["binary"]:
        a, b = str(r["scheme"]).split("-vs-")
        if a in CLASSES and b in CLASSES:
            out[f"{a} vs {b}"] = r["balanced_accuracy"]
    return out


def trees(res: Results, scheme: str) -> tuple[dict, float]:
    """({combination: accuracy}, the direct C2's accuracy) of notebook 03."""
    rs = report.most_faithful(res.topic["hierarchical"])
    combos = {m: np.mean([r["accuracy"] for r in v]) for (m, s, *_), v in rs.items() if s == scheme and m != "C2-direct"}
    direct = np.mean([r["accuracy"] for (m, s, *_), v in rs.items() if s == scheme and m == "C2-direct" for r in v])
    return combos, float(direct)


def galaxy10_keras(res: Results) -> list[dict]:
    """The Keras colour runs of the better-founded 3-way mapping (each rebalancing strategy at its most
    faithful profile)."""
    rs = res.one("keras_galaxy10", framework="keras", channels="gri", scheme="better-3way")
    return [r for runs in report.most_faithful(rs).values() for r in runs]


@functools.lru_cache(maxsize=None)  # C1's 35 M weights take seconds to build
def network_rows() -> tuple[list, dict]:
    from .models_torch import ARCHITECTURES, build_model, count_parameters
    counts, rows = {}, [("network", "layers", "weights")]
    for name in ("C1", "C2"):
        counts[name] = count_parameters(build_model(name, 4, 100, batch_norm=False))
        layers = []
        for l in ARCHITECTURES[name]:
            kind = type(l).__name__
            if hasattr(l, "filters"):
                layers.append(f"conv {l.filters}")
            elif kind == "Dense":
                layers.append(f"dense {l.units}")
            elif kind == "Pool":
                layers.append("pool")
        rows.append((name, " &rarr; ".join(layers), f"{counts[name] / 1e6:.1f} M"))
    return rows, counts


# ----------------------------------------------------------------------------- the talk

def _title_slide(res):
    return [f"A tested reproduction of Cavanagh, Bekki &amp; Groves (2021), <i>MNRAS</i> 506, 659",
            "C1 and C2 in PyTorch, a mock sky held against the real one, Galaxy10 in Keras",
            f"built {date.today().isoformat()} from the repository's results"]


def _mock_vs_real_title(res):
    ba, top = sim_to_real(res).mean(), ceiling(res).mean()
    return (f"Trained on the mock alone, C2 scores {pct(ba)} on real galaxies; trained on as many real ones, "
            f"{pct(top)}")


def _mock_vs_real_text(res):
    ok, n = shape_statistics(res)
    ba = sim_to_real(res)
    return [f"{ok} of {n} shape statistics within KS 0.2 of the real galaxies",
            f"sim-to-real balanced accuracy {100 * ba.min():.0f}-{pct(ba.max())} over {len(ba)} seeds",
            f"the ceiling: C2 trained on real galaxies, {len(ceiling(res))} seeds, cross-validated"]


def _discriminator_title(res):
    d = discriminator(res)
    return f"A network still tells the mock from the real sky: AUC {d['auc']:.2f}, where 0.5 is a coin toss"


def _discriminator_text(res):
    d = discriminator(res)
    naive = res.one("realism", scheme="discriminator", dataset="naive")[0]
    worst = max(d["groups"], key=lambda g: d["groups"][g]["auc"])
    return [f"the naive mock: AUC {naive['auc']:.2f}", f"easiest to spot: {worst} ({d['groups'][worst]['auc']:.2f})",
            "below: the stamps it is surest about, and the pixels it used"]


def _labels_title(res):
    r, c = boundary(res)
    if c["median_wrong"] < c["median_right"] and c["p_value"] < 0.05:
        return "C2's mistakes sit near the class boundaries, where the catalogue's labels are a coin toss"
    return "C2's mistakes are not clearly nearer the class boundaries here"


def _labels_text(res):
    r, c = boundary(res)
    agree = [x["label_agreement"] for x in c["by_distance"]]
    rs = res.best("pytorch", "C2", "4way")
    lines = [f"labels agree with the truth on {pct(np.mean([x['label_agreement'] for x in rs]))} of the galaxies"
             if all("label_agreement" in x for x in rs) else "",
             f"at a boundary {pct(agree[0])} agree, far from one {pct(agree[-1])}",
             f"one-sided p = {c['p_value']:.1g}, {c['n_wrong']} wrong against {c['n_right']} right"]
    return [x for x in lines if x]


def _results_title(res):
    rs = res.best("pytorch", "C2", "4way")
    ours, ref = np.mean([r["accuracy"] for r in rs]), paper.ACCURACY[("C2", "4way")]
    gap = 100 * (ours - ref)
    where = "within a point of" if abs(gap) < 1 else f"{abs(gap):.0f} points {'above' if gap > 0 else 'below'}"
    return f"With the catalogue's label scatter, C2 scores {pct(ours)} in 4-way on the mock, {where} the paper's {pct(ref)}"


def _results_text(res):
    q3, q4 = repo(res, "C2", "3way"), repo(res, "C2", "4way")
    rs = res.best("pytorch", "C2", "4way")
    return [f"{len(rs)} seeds, profile {rs[0]['profile']}; the paper's own settings want a GPU",
            f"on a CPU in minutes (quick): {pct(q3[0]['accuracy'])} in 3-way, {pct(q4[0]['accuracy'])} in 4-way"]


def _wrong_title(res):
    rs = repo(res, "C2", "4way")
    c = hardest(rs)
    others = [o for o in ("E", "S0", "Sp") if o != c]
    shares = {o: confusion_share(rs, c, o) for o in others}
    lost = ("both neighbours" if min(shares.values()) >= 0.1 else
            f"mostly {LONG_NAMES[max(shares, key=shares.get)]}s")
    return f"{LONG_NAMES[c].capitalize()}s are the hard class: C2 loses them to {lost}"


def _wrong_text(res):
    rs = repo(res, "C2", "4way")
    ref = dict(zip(scheme_classes("4way"), paper.recall_c2("4way")))
    lines = [f"C2 4-way recall: " + ", ".join(f"{c} {recall(rs, c):.2f}" for c in CLASSES),
             "paper: " + ", ".join(f"{c} {ref[c]:.2f}" for c in CLASSES)]
    irr_to_sp = confusion_share(rs, "Irr+Misc", "Sp")
    lines.append(f"Irr+Misc called Sp: {pct(irr_to_sp)} (paper: {pct(paper.CONFUSION_C2['4way'][3, 2])})")
    return lines


def _why_title(res):
    r, c = mass_claim(res)
    dex = c["median_wrong"] - c["median_right"]
    if dex > 0 and c["p_value"] < 0.05:
        return f"Lenticulars that C2 calls ellipticals are more massive ({dex:+.2f} dex), as the paper found"
    return f"Lenticulars that C2 calls ellipticals are not clearly more massive here (p = {c['p_value']:.2g})"


def _why_text(res):
    r, c = mass_claim(res)
    others = other_differences(r)
    lines = [f"{c['n_wrong']} lenticulars called E against {c['n_right']} recognised, one-sided p = {c['p_value']:.1g}"]
    if others:
        lines.append("they are also " + " and ".join(others))
    lines.append("the mock ties bulge fraction to mass, so the real catalogue is the real test")
    return lines


def _binary_title(res):
    b = binary_balanced(res)
    hard = min(b, key=b.get)
    tail = ", as in the paper" if hard == "Sp vs Irr+Misc" else ""
    a, z = hard.split(" vs ")
    return f"Two classes at a time, {a} and {z} are the hardest pair to tell apart{tail}"


def _binary_text(res):
    b = binary_balanced(res)
    return [f"E vs Sp {pct(b['E vs Sp'])} balanced (paper: above {pct(paper.ACCURACY[('binary', 'E-vs-Sp')])})",
            f"Sp vs Irr+Misc {pct(b['Sp vs Irr+Misc'])} (paper: {pct(paper.ACCURACY[('binary', 'Sp-vs-Irr+Misc')])})"]


def _trees_title(res):
    combos, direct = trees(res, "4way")
    if max(combos.values()) < direct:
        return "Trees of binary networks fall below the direct C2 in 4-way, as in the paper"
    return "A tree of binary networks matches the direct C2 in 4-way, unlike in the paper"


def _trees_text(res):
    combos, direct = trees(res, "4way")
    plain = {m: a for m, a in combos.items() if not m.endswith("+priors")}
    priors = {m: a for m, a in combos.items() if m.endswith("+priors")}
    lines = [f"4-way: direct C2 {pct(direct)}, best tree {pct(max(plain.values()))} "
             f"(paper: {pct(paper.ACCURACY[('C2', '4way')])} and {pct(paper.ACCURACY[('hierarchical', '4way')])})"]
    if priors:
        lines.append(f"restoring the training priors: best {pct(max(priors.values()))}")
    return lines


def rebalancing_vs_none(res: Results) -> dict:
    """{strategy: its balanced accuracy against no rebalancing over paired seeds} (galaxy10.paired_summary)."""
    from .galaxy10 import paired_summary
    summary = paired_summary(res.topic["galaxy10_rebalancing"])
    vs = {s: v["balanced_accuracy"]["vs_none"] for s, v in summary.items() if "vs_none" in v["balanced_accuracy"]}
    if not vs:
        raise LookupError("no rebalancing comparison in results/galaxy10_rebalancing.json")
    return vs


def _galaxy10_title(res):
    better = {s: v for s, v in rebalancing_vs_none(res).items() if v["ci"][0] > 0}
    if not better:
        return "On the mock Galaxy10, no rebalancing beats none by more than its seeds' noise"
    best = max(better, key=lambda s: better[s]["difference"])
    return (f"On the mock Galaxy10, {best} beats no rebalancing by {100 * better[best]['difference']:.0f} points "
            f"of balanced accuracy, over paired seeds")


def _galaxy10_text(res):
    vs = rebalancing_vs_none(res)
    seeds = min(v["seeds"] for v in vs.values())
    return [f"balanced accuracy against none, {seeds} paired seeds:"] + [
        f"{s} {100 * v['difference']:+.1f} points [{100 * v['ci'][0]:+.1f}, {100 * v['ci'][1]:+.1f}]" for s, v in vs.items()]


def _shows_text(res):
    rs4 = repo(res, "C2", "4way")
    lines = []
    if hardest(rs4) == "S0":
        lines.append("shows: lenticulars hardest, as in the paper")
    if confusion_share(rs4, "Irr+Misc", "Sp") >= 0.5:
        lines.append("shows: missed Irr+Misc galaxies go to spirals")
    if all(repo(res, "C2", s)[0]["accuracy"] > repo(res, "C1", s)[0]["accuracy"] for s in ("3way", "4way")):
        lines.append("shows: C2 beats C1")
    lines += ["does not show: the paper's numbers on real SDSS",
              "does not show: the mass effect on real galaxies"]
    return lines


SLIDES = [
    Slide("title", "Can a small network classify galaxies as the experts do?", text=_title_slide,
          notes="Welcome. In twenty minutes: the question the paper asks, the data and how we made it offline, the "
                "networks, how our results compare with the paper's, where the networks go wrong and why, two "
                "extensions, and what this reproduction can and cannot tell us. Every number on these slides is "
                "read from the repository's results files when the deck is built."),
    Slide("question", lambda res: (f"The paper: C2 sorts {pct(paper.ACCURACY[('C2', '3way')])} of galaxies into "
                                    f"three classes right, {pct(paper.ACCURACY[('C2', '4way')])} into four"),
          figure="gallery_mock",
          text=["E, S0, Sp from one-band SDSS g images, labelled by eye (Nair &amp; Abraham 2010)",
                "Irr+Misc makes it four", "these are mock galaxies, one row per class"],
          notes=lambda res: (
              "Cavanagh, Bekki and Groves trained a small CNN, C2, on 14,034 galaxies that Nair and Abraham "
              "classified by eye. Ellipticals are smooth and round, lenticulars have a disk but no arms, spirals "
              "have arms, and Irr+Misc holds irregulars and mergers. The paper's C2 finds "
              f"{paper.recall_c2('4way')[1]:.0%} of the lenticulars in 4-way: that is the class to watch. The "
              "galaxies shown are from our mock set, with each one's T-type and bulge fraction.")),
    Slide("data", f"Offline, a GalSim mock stands in for the paper's {sum(PAPER_COUNTS.values()):,} SDSS galaxies",
          figure="class_counts",
          text=lambda res: [
              f"the paper's proportions: spirals {pct(PAPER_COUNTS['Sp'] / sum(PAPER_COUNTS.values()))}, "
              f"Irr+Misc {pct(PAPER_COUNTS['Irr+Misc'] / sum(PAPER_COUNTS.values()))}",
              "110x110 px g-band stamps, every physical parameter stored",
              "40 views of each galaxy; the split is made per galaxy"],
          source=lambda res: (f"results/data.json: this set {res.one('data')[0]['n_galaxies']} galaxies "
                              f"(profile {res.one('data')[0]['profile']})"),
          notes="The real images need a download of about 1.5 GB, so the default is a mock rendered with GalSim: "
                "bulges, disks, arms, bars, dust, mergers, the SDSS seeing, pixels and noise, field stars and "
                "neighbours, in the paper's class proportions. The generator records each galaxy's mass, size and "
                "bulge fraction, which lets us ask later why a galaxy was misclassified. The paper's augmentation, "
                "five crops times four rotations times two mirrors, is applied when batches are made, and the "
                "split is per galaxy so no galaxy's views are in both training and test. The real catalogue runs "
                "with one command, make data DATASET=sdss."),
    Slide("mock-vs-real", _mock_vs_real_title, figure="mock_vs_real", text=_mock_vs_real_text,
          source=lambda res: "make realism, results/realism.json: statistics of {} real E|S0, {} Sp and {} merger "
                             "galaxies of Galaxy Zoo 1 (not shipped), sim-to-real on {}".format(
                                 *res.one("realism", scheme="statistics")[0]["n_real"].values(),
                                 report.sim_to_real(res.topic["realism"])[0]["n_test"]),
          notes=lambda res: (
              "This is what sets the repository apart: the mock is held against real SDSS galaxies from Galaxy Zoo "
              "1. On top, real galaxies on the left, mock on the right, same stretch. Below, seven structural "
              "statistics per class, real in grey and mock in blue, with the KS distance; red where it misses the "
              "target of 0.2. The decisive test: train C2 on the mock alone and test it on real galaxies, "
              f"ellipticals and lenticulars against spirals. It reaches {pct(sim_to_real(res).mean(), 1)} balanced "
              f"accuracy; the same C2 trained on as many real galaxies of the sample reaches {pct(ceiling(res).mean(), 1)}. "
              "That difference is what the mock still lacks. Details in docs/mock.md.")),
    Slide("discriminator", _discriminator_title, figure="discriminator", text=_discriminator_text,
          source=lambda res: (f"make realism, results/realism.json: {discriminator(res)['k']}-fold, "
                              f"{discriminator(res)['n_real']} real GZ1 galaxies against as many mock ones"),
          notes="A second test asks the whole stamp, not a few statistics: train the same C2 to tell real stamps "
                "from mock ones, every real galaxy scored by a network that never saw it. The area under its ROC "
                "curve is the verdict: 0.5 means it cannot tell them apart. The mock is far from that, though "
                "much closer than the naive mock without any sky elements. Below, the stamps it is surest about "
                "and the pixels its call rests on: the real images' pixel-scale texture, which the mock's smoother "
                "light lacks, the mock's bright stars with their spikes, and its sky. This is the honest limit of "
                "the offline data: the patterns carry over, the exact numbers need real images."),
    Slide("networks", lambda res: (f"C2 has four convolutions and {network_rows()[1]['C1'] / network_rows()[1]['C2']:.0f} "
                                    f"times fewer weights than C1"),
          table=lambda res: network_rows()[0],
          text=["one layer list builds both PyTorch and Keras", "batch norm after each convolution"],
          source="weights at 100x100, 4-way, without batch norm, counted from helpers/models_torch.py",
          notes="C1, from Cavanagh and Bekki 2020, has two convolutions and then one huge dense layer, where almost "
                "all its weights sit. C2 adds two more convolutions and three poolings, so the dense layers see a "
                "small map: far fewer weights, and it generalises better. Both are written once as a list of "
                "layers, from which the PyTorch and the Keras models are built, and a test checks that both count "
                "the same parameters. On a CPU we bin the 100 px input to 50 px; the paper profile on a GPU uses "
                "the full 100 px and all 40 views."),
    Slide("results", _results_title, figure="results_vs_paper", text=_results_text,
          source="results/pytorch.json (notebook 02 and benchmarks/paper_gpu.py); paper: helpers/paper.py",
          notes=lambda res: (
              "Grey bars are the paper, on real SDSS galaxies; markers are ours on the mock, with 95 % intervals "
              "from the number of test galaxies. Blue is what the committed notebooks run on a CPU in minutes, "
              "orange the whole sample on a CPU, over three seeds. The mock's labels carry the scatter of an "
              "expert's eye, as the catalogue's do, and that brings its accuracy down toward the paper's level. "
              "Compare the level, and then the pattern: where the lenticulars and the irregulars sit against the "
              "other classes. The paper's own settings, 100 px and all 40 views, want a GPU: docs/results.md "
              "says what we predict there.")),
    Slide("labels", _labels_title, figure="catalogue_labels", text=_labels_text,
          source=lambda res: (f"results/interpretation.json (notebook 05): mock, profile {boundary(res)[0]['profile']}, "
                              f"{boundary(res)[0]['n_test']} test galaxies; scatter {NA10_LABELS.sigma_t} T-types (Naim et al. 1995)"),
          notes="The paper's labels are Nair and Abraham's eye classifications, and experts disagree by one to two "
                "T-types. So each mock galaxy has two T-types: the true one it is drawn as, and the catalogue's, "
                "the true one plus the scatter one expert shows. The class label is the catalogue's, as in the "
                "paper. Near a class boundary the label is close to a coin toss, and the figure shows C2's "
                "accuracy, and the labels' agreement with the truth, against the distance of a galaxy's true "
                "T-type from the nearest boundary. No network can beat the labels' agreement, and lenticulars, "
                "with two boundaries, pay most."),
    Slide("where-wrong", _wrong_title, figure="pytorch_confusion", text=_wrong_text,
          source=lambda res: (f"results/pytorch.json: mock, profile {report.REPOSITORY_PROFILE}, "
                              f"{repo(res, 'C2', '4way')[0]['n_test']} test galaxies (the figure's 'this run' panels)"),
          notes=lambda res: "Rows are the true class, normalised, so the diagonal is each class's recall. Lenticulars sit "
                "between ellipticals and spirals: a bulge like an elliptical, a disk like a spiral, no arms. So "
                f"they can leak both ways. The Irr+Misc galaxies are few ({pct(PAPER_COUNTS['Irr+Misc'] / sum(PAPER_COUNTS.values()))} "
                "of the sample), and without class "
                "weights the network tends to send them to the spirals. The last two panels are the paper's C2: "
                "compare the shape of the errors, not only the diagonal."),
    Slide("why", _why_title, figure="misclassified_effects", text=_why_text,
          source=lambda res: (f"results/interpretation.json (notebook 05): mock, profile {mass_claim(res)[0]['profile']}, "
                              f"{mass_claim(res)[0]['n_test']} test galaxies"),
          notes="The mock stores each galaxy's physics, so we can ask what the misclassified galaxies have in "
                "common. Each row compares the galaxies of one true class that C2 called another with those it "
                "got right: the rank-biserial effect size of a Mann-Whitney test, starred where it survives the "
                "correction for the number of tests. The paper found that lenticulars called ellipticals are more "
                "massive; the title says what our records show. Read the whole row: on the mock those lenticulars "
                "differ in size and bulge fraction too, and the generator ties a lenticular's bulge fraction to its "
                "mass, so the effect is partly built in. Run on the real catalogue, the same notebook is the real "
                "test."),
    Slide("binary", _binary_title, figure="binary_pairwise_accuracy", text=_binary_text,
          source="results/binary.json (notebook 03): balanced accuracy on the test galaxies, one seed",
          notes="The paper also trained C2 on two classes at a time. Each cell is one binary network's balanced "
                "accuracy. Ellipticals against spirals is easy; spirals against irregulars is the hardest pair, "
                "because many irregulars are clumpy disks. The numbers with E and Irr+Misc rest on a dozen test "
                "galaxies, so read them with care."),
    Slide("trees", _trees_title, figure="hierarchical_vs_direct", text=_trees_text,
          source="results/hierarchical.json (notebook 03), the same test galaxies as the direct C2",
          notes="Binary networks can be chained into a tree, for example early against late type first, then "
                "within each branch. Errors multiply down the tree, and each binary network was trained on "
                "balanced classes, so it overcalls the rare ones. Restoring the training priors, shown in orange, "
                "undoes that; compare the best orange bar with the grey direct network, and both with the "
                "paper's dashed lines."),
    Slide("galaxy10", _galaxy10_title, figure="galaxy10_rebalancing", text=_galaxy10_text,
          source="results/galaxy10_rebalancing.json (python -m helpers.galaxy10 rebalancing): Keras C2, mock "
                 "Galaxy10, profile quick, the same budget of optimiser steps",
          notes="Galaxy10 SDSS is the data set students meet first: 21,785 colour images with ten Galaxy Zoo "
                "classes. Notebook 04 maps those classes to E, S0 and Sp and trains the same C2 in Keras. An "
                "earlier student project claimed that a more balanced class mix helped; one run per strategy "
                "cannot say, since two seeds of one strategy differ by several points. So each strategy ran on "
                "the same seeds, and the figure shows each seed's difference from no rebalancing and the mean "
                "with its interval: read whether the interval clears zero. Offline this is the mock Galaxy10, "
                "calibrated on real Galaxy Zoo 2 galaxies (docs/real-data.md)."),
    Slide("shows", "The reproduction shows the paper's pattern, not its numbers on real SDSS", text=_shows_text,
          notes="What we can claim: the pipeline reproduces the paper's pattern of confusions, on a mock that a "
                "network trained on transfers to real galaxies. What we cannot: the paper's accuracies on real "
                "SDSS, which need the real download and a GPU, and the mass effect on real galaxies, which the mock "
                "partly builds in. The mock's labels have no eye-classification scatter, which is probably why it "
                "is easier than the real sky at the paper's settings."),
    Slide("end", "Everything here reruns offline: make reproduce, make test",
          text=["notebooks, figures, results and this deck: one repository",
                "the real SDSS set: make data DATASET=sdss",
                "questions?"],
          notes="The repository runs offline on a two-core laptop: make reproduce executes the notebooks and "
                "rebuilds the tables and this deck, and make test checks it all. Thank you; questions. The "
                "appendix after this slide holds every result in one table."),
]


def appendix(res: Results, height_px: int = 520) -> list[Slide]:
    """The full results table (report.rows) over as many appendix slides as it needs: each row's height
    estimated from the lines its longest cell wraps to in the appendix's column widths (the browser
    check then measures what was estimated)."""
    rows = [tuple(e(str(c).replace("`", "")) for c in row) for row in report.rows(res.results_dir)]
    chars = (30, 15, 29, 33)  # characters per line of each column at 18 px (the col widths in CSS)
    height = lambda row: 10 + 22 * max(math.ceil(len(html.unescape(c)) / w) for c, w in zip(row, chars))
    pages, page, used = [], [], 0
    for row in rows:
        if page and used + height(row) > height_px:
            pages.append(page)
            page, used = [], 0
        page.append(row)
        used += height(row)
    if page:
        pages.append(page)
    return [Slide(f"appendix-{k}", f"Appendix {k} of {len(pages)}: every result, against the paper",
                  table=[("quantity", "paper", "this repository", "data set, profile, test galaxies")] + page,
                  source="results/*.json through helpers.report, as docs/results.md",
                  notes="A backup table: every result of the repository, the most faithful profile of each "
                        "configuration, beside the paper's number where it gives one.", appendix=True)
            for k, page in enumerate(pages, start=1)]


@dataclass
class Built:
    """A slide with every field computed."""
    name: str
    title: str
    figure: Path | None
    text: list
    notes: str
    table: list | None
    source: str
    appendix: bool


def words(html_text: str) -> int:
    """Words as a reader counts them: tags, arrows and other signs apart."""
    return sum(1 for w in re.sub(r"<[^>]+>", " ", html.unescape(html_text)).split() if re.search(r"\w", w))


def build_slides(results_dir=None, figures_dir=None, slides=None) -> list[Built]:
    """Compute every slide (the main ones, then the appendix), or fail naming the slide."""
    figures_dir = Path(figures_dir or data.FIGURES_DIR)
    res = Results(results_dir)
    out = []
    for s in list(SLIDES if slides is None else slides) + appendix(res):
        try:
            built = Built(s.name, _value(s.title, res), None, list(_value(s.text, res)), _value(s.notes, res),
                          _value(s.table, res), _value(s.source, res), s.appendix)
        except (LookupError, KeyError, IndexError, ValueError) as err:
            raise SlideError(f"slide {s.name!r}: its results are missing or incomplete ({err}); run make reproduce") from err
        if s.figure:
            built.figure = figures_dir / f"{s.figure}.png"
            if not built.figure.exists():
                raise SlideError(f"slide {s.name!r}: its figure {built.figure} is missing")
        if not built.notes:
            raise SlideError(f"slide {s.name!r}: no speaker notes")
        n = words(" ".join(built.text)) + (0 if s.appendix else sum(words(c) for row in built.table or [] for c in row))
        if n > MAX_WORDS:
            raise SlideError(f"slide {s.name!r}: {n} words of text, more than {MAX_WORDS}")
        out.append(built)
    return out


# ----------------------------------------------------------------------------- HTML

CSS = """
html,body{margin:0;height:100%;background:#111;overflow:hidden;font-family:"DejaVu Sans",Helvetica,Arial,sans-serif}
#deck{position:absolute;left:0;top:0;width:1280px;height:720px;transform-origin:0 0}
.slide{display:none;position:absolute;left:0;top:0;width:1280px;height:720px;box-sizing:border-box;
 padding:26px 44px 18px;background:#fdfdfb;color:#1d1d1d;flex-direction:column;overflow:hidden}
.slide.active{display:flex}
h1{font-size:31px;line-height:1.22;margin:0 0 14px;color:#12355b;border-bottom:3px solid #d62728;padding-bottom:8px}
.body{flex:1;min-height:0;display:flex;gap:26px}
.body.stack{flex-direction:column;gap:8px}
.text ul{margin:0;padding-left:24px;font-size:21px;line-height:1.32}
.text li{margin-bottom:6px}
.body.side .text{flex:0 0 31%}
.body.stack .text ul{columns:2;column-gap:40px}.body.stack .text li{break-inside:avoid}
figure{flex:1;min-height:0;min-width:0;margin:0;display:flex;justify-content:center;align-items:center}
figure img{max-width:100%;max-height:100%;object-fit:contain;display:block}
table{border-collapse:collapse;font-size:18px;width:100%;table-layout:fixed}
th,td{border-bottom:1px solid #bbb;padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#eef2f7}
.appendix col.q{width:28%}.appendix col.p{width:15%}.appendix col.o{width:27%}.appendix col.w{width:30%}
.slide.textonly .body.stack .text ul{font-size:28px;line-height:1.45;columns:1}.textonly .text li{margin-bottom:14px}
.source{font-size:18px;color:#666;margin-top:8px}
.slide.title{justify-content:center;padding:60px 90px}.slide.title .body{flex:0 0 auto}
.slide.title h1{font-size:46px;border:none;margin:0 0 28px}
.slide.title .body.stack .text ul{list-style:none;padding:0;font-size:24px;color:#333;columns:1}
.notes{display:none}
body.show-notes .slide.active .notes{display:block;position:absolute;left:0;right:0;bottom:0;max-height:46%;overflow:auto;
 box-sizing:border-box;background:#fffbe8;border-top:3px solid #12355b;padding:12px 44px;font-size:20px;line-height:1.4}
#count{position:fixed;right:12px;bottom:8px;font-size:16px;color:#888}
#notes-view{display:none}
body.notes-view{overflow:auto;background:#fff}
body.notes-view #deck,body.notes-view #count{display:none}
body.notes-view #notes-view{display:block;max-width:860px;margin:0 auto;padding:24px;font-size:18px;line-height:1.45}
#notes-view h2{font-size:21px;color:#12355b;margin:22px 0 6px}
@page{size:1280px 720px;margin:0}
@page handout{size:A4;margin:16mm}
@media print{html,body{overflow:visible;height:auto;background:#fff}
 #deck{position:static;transform:none!important;width:auto;height:auto}
 .slide{display:flex!important;position:relative;break-after:page}
 .notes,#count{display:none!important}
 body.notes-view #notes-view{page:handout;padding:0}
 #notes-view article{break-inside:avoid}}
"""

JS = """
const deck=document.getElementById('deck'),slides=[...deck.querySelectorAll('.slide')];let i=0;
function deckFit(){const s=Math.min(innerWidth/1280,innerHeight/720);
 deck.style.transform=`translate(${(innerWidth-1280*s)/2}px,${(innerHeight-720*s)/2}px) scale(${s})`;}
function show(n){i=Math.max(0,Math.min(slides.length-1,n));slides.forEach((s,k)=>s.classList.toggle('active',k===i));
 document.getElementById('count').textContent=(i+1)+' / '+slides.length;
 if(!document.body.classList.contains('notes-view'))history.replaceState(null,'','#'+(i+1));}
document.addEventListener('keydown',ev=>{const k=ev.key;
 if(['ArrowRight','ArrowDown','PageDown',' ','Enter'].includes(k))show(i+1);
 else if(['ArrowLeft','ArrowUp','PageUp','Backspace'].includes(k))show(i-1);
 else if(k==='Home')show(0);else if(k==='End')show(slides.length-1);
 else if(k==='n'||k==='N')document.body.classList.toggle('show-notes');
 else if(k==='v'||k==='V')document.body.classList.toggle('notes-view');
 else return;ev.preventDefault();});
document.addEventListener('click',ev=>{if(document.body.classList.contains('notes-view')||ev.target.closest('.notes'))return;
 show(ev.clientX>innerWidth/3?i+1:i-1);});
function fromHash(){if(location.hash==='#notes'){document.body.classList.add('notes-view');show(0);}
 else show((parseInt(location.hash.slice(1))||1)-1);}
addEventListener('resize',deckFit);addEventListener('hashchange',fromHash);deckFit();fromHash();
"""


def _img(path: Path) -> str:
    return f'<img alt="{e(path.stem)}" src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}">'


def _png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    head = path.read_bytes()[16:24]
    return int.from_bytes(head[:4], "big"), int.from_bytes(head[4:], "big")


def _table(rows: list, appendix: bool) -> str:
    head, *body = rows
    cols = '<colgroup><col class="q"><col class="p"><col class="o"><col class="w"></colgroup>' if appendix else ""
    return (f"<table>{cols}<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>" +
            "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in body) + "</table>")


def render(slides: list[Built]) -> str:
    parts, notes = [], []
    for k, s in enumerate(slides, start=1):
        text = ('<div class="text"><ul>' + "".join(f"<li>{t}</li>" for t in s.text) + "</ul></div>") if s.text else ""
        table = _table(s.table, s.appendix) if s.table else ""
        if s.figure:
            w, h = _png_size(s.figure)
            layout = "side" if text and w < 1.9 * h else "stack"  # a tall figure: the text beside it
            body = f'<div class="body {layout}">{text}<figure>{_img(s.figure)}</figure></div>'
        else:
            body = f'<div class="body stack">{text}{table}</div>'
        kind = "title" if k == 1 else "appendix" if s.appendix else "textonly" if not (s.figure or s.table) else ""
        source = f'<div class="source">source: {e(s.source)}</div>' if s.source else ""
        parts.append(f'<section class="slide {kind}" id="slide-{k}" data-name="{e(s.name)}"><h1>{e(s.title)}</h1>'
                     f'{body}{source}<aside class="notes">{s.notes}</aside></section>')
        notes.append(f"<article><h2>{k}. {e(s.title)}</h2><p>{s.notes}</p></article>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{e(slides[0].title)}</title><style>{CSS}</style></head><body>\n<div id=\"deck\">\n" +
            "\n".join(parts) + "\n</div>\n<div id=\"notes-view\"><h1>Speaker notes</h1>" + "".join(notes) +
            f'</div>\n<div id="count"></div><script>{JS}</script></body></html>\n')


# ----------------------------------------------------------------------------- checked in a browser

MEASURE = """(() => {
 deckFit(); const scale = deck.getBoundingClientRect().width / 1280, out = [];
 slides.forEach((s, k) => { show(k); const f = s.getBoundingClientRect(), over = new Set(); let small = 99, images = 0, broken = 0;
  const name = el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '');
  for (const el of s.querySelectorAll('*')) { if (el.closest('.notes')) continue;
   const r = el.getBoundingClientRect(); if (!r.width && !r.height) continue;
   if (r.left < f.left - 1 || r.top < f.top - 1 || r.right > f.right + 1 || r.bottom > f.bottom + 1) over.add(name(el) + ' outside the frame');
   const d = getComputedStyle(el).display;
   if (d !== 'inline' && el.tagName !== 'IMG' && (el.scrollHeight > el.clientHeight + 2 || el.scrollWidth > el.clientWidth + 2))
    over.add(name(el) + ' overflows its box');
   if (el.tagName === 'IMG') { images++; if (!el.complete || !el.naturalWidth) broken++; } }
  const w = document.createTreeWalker(s, NodeFilter.SHOW_TEXT);
  while (w.nextNode()) { const p = w.currentNode.parentElement;
   if (w.currentNode.textContent.trim() && !p.closest('.notes')) small = Math.min(small, parseFloat(getComputedStyle(p).fontSize) * scale); }
  out.push({name: s.dataset.name, overflow: [...over], min_font_px: small, images, broken}); });
 show(0); return out; })()"""


def check(html_path, pdf_path=None, viewports=VIEWPORTS) -> dict:
    """Open the deck in headless Chromium at each viewport and measure every slide: what overflows its
    frame or its box, the smallest text, the images that did not load; then press the keys (next,
    previous, last, notes on and off, the notes view), with ``pdf_path`` print it, and open the notes
    view by its address. Returns
    {'slides': {viewport: [per slide]}, 'keys': {...}, 'pdf': path}."""
    from .browser import Page
    out = {"slides": {}, "keys": {}}
    url = Path(html_path).resolve().as_uri()
    with Page() as page:
        for w, h in viewports:
            page.open(url, w, h)
            out["slides"][f"{w}x{h}"] = page.evaluate(MEASURE)
        active = "slides.findIndex(s => s.classList.contains('active'))"
        notes = "getComputedStyle(slides[i].querySelector('.notes')).display"
        out["keys"]["start"] = page.evaluate(active)
        out["keys"]["notes_hidden"] = page.evaluate(notes)
        for key, label in (("ArrowRight", "next"), ("ArrowRight", "next2"), ("ArrowLeft", "previous"), ("End", "end"),
                           ("Home", "home")):
            page.press(key)
            out["keys"][label] = page.evaluate(active)
        page.press("n")
        out["keys"]["notes_shown"] = page.evaluate(notes)
        page.press("n")
        out["keys"]["notes_hidden_again"] = page.evaluate(notes)
        page.press("v")
        out["keys"]["notes_view"] = page.evaluate("getComputedStyle(document.getElementById('notes-view')).display")
        page.press("v")
        if pdf_path:
            page.open(url, *viewports[0])
            out["pdf"] = page.pdf(pdf_path)
        page.open("about:blank", *viewports[0])  # else only the fragment changes, and no page loads
        page.open(url + "#notes", *viewports[0])
        out["keys"]["notes_address"] = page.evaluate("document.body.className")
    return out


def problems(measured: dict, min_font_px: float = MIN_FONT_PX) -> list[str]:
    """Every slide that does not fit, has text under ``min_font_px`` at 1280x720, or an image that did not load."""
    found = []
    for viewport, slides in measured["slides"].items():
        for s in slides:
            if s["overflow"]:
                found.append(f"slide {s['name']!r} at {viewport}: " + "; ".join(s["overflow"]))
            if s["broken"]:
                found.append(f"slide {s['name']!r} at {viewport}: {s['broken']} of {s['images']} images did not load")
            if viewport == "1280x720" and s["min_font_px"] < min_font_px:
                found.append(f"slide {s['name']!r}: text of {s['min_font_px']:.1f} px, under {min_font_px} px")
    return found


def build(out=OUT, results_dir=None, figures_dir=None, pdf: bool = False, slides=None) -> Path:
    """Write the deck; with ``pdf``, check it in Chromium (raising SlideError naming every slide that does
    not fit) and print it next to the HTML."""
    deck = build_slides(results_dir, figures_dir, slides)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.html")  # an .html name: the browser reads it as HTML
    tmp.write_text(render(deck))
    if pdf:
        try:
            found = problems(check(tmp, out.with_suffix(".pdf")))
        except BaseException:
            tmp.unlink()
            raise
        if found:
            tmp.unlink()
            out.with_suffix(".pdf").unlink(missing_ok=True)
            raise SlideError("these slides do not fit:\n  " + "\n  ".join(found))
    tmp.replace(out)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Build the classroom deck from figures/ and results/.")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--pdf", action="store_true", help="check every slide in headless Chromium and print the PDF")
    args = ap.parse_args(argv)
    try:
        path = build(args.out, pdf=args.pdf)
    except SlideError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    deck = build_slides()
    main_slides = sum(not s.appendix for s in deck)
    print(f"{path}: {main_slides} slides and {len(deck) - main_slides} of appendix, {path.stat().st_size / 1e6:.1f} MB"
          + (f"; checked in Chromium at {', '.join(f'{w}x{h}' for w, h in VIEWPORTS)}; {path.with_suffix('.pdf')}"
             if args.pdf else " (not checked in a browser: --pdf)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
