"""The classroom slide deck, built from the notebooks' figures and results (``make slides``).

``python -m helpers.slides`` writes ``presentations/slides.html``: one self-contained file (inline CSS
and JavaScript, every figure embedded as base64 PNG), so it opens offline, from a USB stick, in any
browser. Arrow keys, space, Page Up/Down, Home/End or a click move between slides; ``#5`` in the
address opens slide 5; printing (or ``--pdf``, through headless Chromium) gives one slide per page.

Every number on a slide is read from ``results/*.json`` (or ``helpers.paper`` for the paper's), with
the data set and profile it comes from; a slide whose figure and results do not exist yet (a notebook
not yet run) is left out, and the last slide lists what was used and what was missing.
"""
from __future__ import annotations

import argparse
import base64
import html
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from . import data, paper, report
from .classes import CLASSES, LONG_NAMES, PAPER_COUNTS, scheme_classes

OUT = data.ROOT / "presentations" / "slides.html"


@dataclass
class Slide:
    title: str
    points: list[str] = field(default_factory=list)   # HTML fragments (already escaped where needed)
    figures: list[str] = field(default_factory=list)  # figure names under figures/, without .png
    table: list[tuple] | None = None                  # header row first; cells are HTML fragments
    note: str = ""                                    # small print: where the numbers come from


e = html.escape


def _pct(x) -> str:
    return f"{100 * float(x):.1f} %"


def _best(records, model, scheme):
    """Records of (model, scheme) at the most faithful profile (see report.most_faithful), or []."""
    for (m, s, _, variant), rs in report.most_faithful(records).items():
        if (m, s) == (model, scheme) and not variant:
            return rs
    return []


def _acc(rs) -> str:
    return report._fmt([r["accuracy"] for r in rs])


def _src(rs, topic) -> str:
    r = rs[0]
    return f"results/{topic}.json: {r.get('dataset')}, profile {r.get('profile')}, {r.get('n_test', '?')} test galaxies"


def _cells(*row) -> tuple:
    """A row of report.py's table as escaped HTML cells (its Markdown back-quotes dropped)."""
    return tuple(e(str(c).replace("`", "")) for c in row)


def build_slides(results_dir=None, figures_dir=None) -> tuple[list[Slide], dict]:
    """The slides and {'used': [...], 'missing': [...]} (results files and figures)."""
    figures_dir = Path(figures_dir or data.FIGURES_DIR)
    res = {t: report.load(t, results_dir) for t in ("data", "pytorch", "binary", "hierarchical",
                                                     "keras_galaxy10", "interpretation", "realism")}
    have = lambda name: (figures_dir / f"{name}.png").exists()
    figs = lambda *names: [n for n in names if have(n)]
    used = [f"results/{t}.json" for t, v in res.items() if v]
    missing = [f"results/{t}.json" for t, v in res.items() if not v]
    slides = []

    # 1. title
    ds = sorted({r.get("dataset") for rs in res.values() for r in rs if r.get("dataset")})
    slides.append(Slide("Galaxy morphology with convolutional networks",
                        ["A reproduction of Cavanagh, Bekki &amp; Groves (2021), <i>MNRAS</i> 506, 659: "
                         "comparing 3-way and 4-way CNNs",
                         "E (elliptical) &middot; S0 (lenticular) &middot; Sp (spiral) &middot; Irr+Misc "
                         "(irregular, peculiar, merger) from one-band SDSS g images",
                         f"data sets in these results: {e(', '.join(ds) or 'none yet')}; "
                         f"deck built {date.today().isoformat()} by <code>make slides</code>"],
                        figs("gallery_mock")))

    # 2. the question
    acc = paper.ACCURACY
    slides.append(Slide("The question", [
        "Can a small CNN sort galaxies into Hubble classes the way an expert (Nair &amp; Abraham 2010) does?",
        f"The paper's network C2: <b>{100 * acc[('C2', '3way')]:.0f} %</b> test accuracy on E/S0/Sp (3-way), "
        f"<b>{100 * acc[('C2', '4way')]:.0f} %</b> with Irr+Misc added (4-way), ahead of the older C1.",
        "Lenticulars are the hard class: recall " + " / ".join(
            f"{c} {v:.2f}" for c, v in zip(scheme_classes("4way"), paper.recall_c2("4way"))) + " (4-way).",
        "Lenticulars misclassified as ellipticals tend to be more massive (abstract). We test that too."],
        note="paper's numbers: helpers/paper.py (abstract; per-class recall as read from its confusion matrix)"))

    # 3. the data
    if res["data"] or have("class_counts"):
        pts = [f"The paper: {sum(PAPER_COUNTS.values())} galaxies, " +
               ", ".join(f"{c} {n}" for c, n in PAPER_COUNTS.items()) + "."]
        note = ""
        if res["data"]:
            d = res["data"][0]
            pts.append(f"Here ({e(str(d.get('dataset')))}, profile {e(str(d.get('profile')))}): "
                       f"{d.get('n_galaxies')} galaxies, " +
                       ", ".join(f"{c} {n}" for c, n in d.get("counts", {}).items()) + "; split per galaxy into " +
                       ", ".join(f"{k} {v}" for k, v in d.get("split_counts", {}).items()) + ".")
            note = "results/data.json (notebook 01)"
        pts.append("The offline default is a mock SDSS set rendered with GalSim: bulge + disk + arms, PSF, sky "
                   "noise, field stars and neighbours, every physical parameter stored with the image.")
        slides.append(Slide("The data", pts, figs("class_counts"), note=note))
    if have("augmentation_40_views"):
        slides.append(Slide("40 views of every galaxy", [
            "The paper's augmentation: 5 crops (4 corners + centre) x 4 rotations x 2 mirrors of a 110x110 cutout.",
            "The split is made per galaxy, before augmenting: no galaxy has views in both training and test."],
            figs("augmentation_40_views")))

    # the networks
    from .models_torch import ARCHITECTURES, build_model, count_parameters
    rows, counts = [("network", "layers", "parameters (4-way, 100x100)")], {}
    for name in ("C1", "C2"):
        counts[name] = count_parameters(build_model(name, 4, 100, batch_norm=False))
        layers = " &rarr; ".join(e(type(l).__name__ + (f" {l.filters} {l.kernel}x{l.kernel}" if hasattr(l, "filters")
                                                        else f" {l.units}" if hasattr(l, "units")
                                                        else f" {l.size}" if hasattr(l, "size") else ""))
                                 for l in ARCHITECTURES[name])
        rows.append((name, layers, f"{counts[name]:,}"))
    slides.append(Slide("Two networks", [
        "C1 (Cavanagh &amp; Bekki 2020): two convolutions and one huge dense layer.",
        f"C2 (the paper's): four convolutions and three poolings, then two small dense layers: "
        f"{counts['C1'] / counts['C2']:.1f} times fewer weights.",
        "Same layer list in PyTorch and Keras (helpers/models_torch.py); batch norm after each convolution."],
        table=rows, note="parameter counts computed from helpers/models_torch.py without batch norm"))

    # results against the paper
    if res["pytorch"]:
        table = [("", "paper", "this repository", "data set, profile, test galaxies")]
        table += [_cells(q, p, o, w) for q, p, o, w in report.pytorch_rows(res["pytorch"])]
        slides.append(Slide("Results against the paper", [], table=table,
                            note="results/pytorch.json (notebook 02); for each network the most faithful profile "
                                 "(paper > full > quick), mean ± sd over seeds where there are several"))
        if have("pytorch_learning_curves"):
            slides.append(Slide("Training", ["Adam, cross-entropy, early stopping on the validation loss; "
                                             "the best epoch's weights are kept (dotted line)."],
                                figs("pytorch_learning_curves")))
        c2 = _best(res["pytorch"], "C2", "4way")
        pts = []
        if c2:
            pc = c2[0]["per_class"]
            pts = [f"C2 4-way: accuracy {_acc(c2)}, balanced accuracy "
                   f"{report._fmt([r['balanced_accuracy'] for r in c2])} (mean recall over classes).",
                   "Recall " + ", ".join(f"{c} {np.mean([r['per_class'][c]['recall'] for r in c2]):.2f}"
                                         for c in pc) + " (paper: " +
                   ", ".join(f"{c} {v:.2f}" for c, v in zip(scheme_classes('4way'), paper.recall_c2('4way'))) + ")."]
        slides.append(Slide("Where the networks go wrong", pts + [
            "Rows are the true classes, normalised: the diagonal is each class's recall; "
            "the paper's C2 in the last panels."], figs("pytorch_confusion"),
            note=(f"numbers: {_src(c2, 'pytorch')}; figure: the last executed notebook 02 (its panel titles "
                  "name the runs)") if c2 else ""))

    # binary and hierarchical (notebook 03)
    if res["binary"] or res["hierarchical"]:
        table = [("", "paper", "this repository", "data set, profile, test galaxies")]
        table += [_cells(q, p, o, w) for q, p, o, w in
                  report.binary_rows(res["binary"]) + report.hierarchical_rows(res["hierarchical"])]
        slides.append(Slide("Two classes at a time, and a hierarchy of them", [], figs("binary_pairwise_accuracy"),
                            table=table, note="results/binary.json, results/hierarchical.json (notebook 03)"))

    # interpretation (notebook 05)
    if have("interpretation_feature_maps"):
        slides.append(Slide("Inside C2: feature maps", [
            "One spiral, layer after layer: the first block finds edges and the light profile, "
            "later blocks only coarse patterns of where things are."], figs("interpretation_feature_maps")))
    if have("interpretation_saliency"):
        slides.append(Slide("Where C2 looks", [
            "Integrated gradients: red pixels speak for the chosen class, blue against. "
            "Grad-CAM: coarse (5x5 cells at 50x50 input)."], figs("interpretation_saliency")))
    inter = [r for r in res["interpretation"] if r.get("scheme") == "4way"]
    if inter or have("interpretation_misclassified_physics"):
        pts, note = [], ""
        best = report.most_faithful(inter)
        if best:
            rs = next(iter(best.values()))
            r = rs[0]
            c = r.get("mass_claim")
            if c:
                pts.append(f"S0 called E vs S0 recognised: median log M* {c['median_wrong']:.2f} vs "
                           f"{c['median_right']:.2f} ({c['median_wrong'] - c['median_right']:+.2f} dex), "
                           f"rank-biserial r = {c['rank_biserial']:+.2f}, one-sided Mann-Whitney p = "
                           f"{c['p_value']:.2g}, n = {c['n_wrong']} / {c['n_right']}.")
            strong = sorted(((t["p_holm"], f"{x['true']} called {x['predicted']}: {t['parameter']} "
                              f"(r = {t['rank_biserial']:+.2f}, Holm p = {t['p_holm']:.2g})")
                             for x in r.get("confusions", []) for t in x["tests"] if t["p_holm"] < 0.05))
            if strong:
                pts.append("Differences that survive the correction for "
                           f"{sum(len(x['tests']) for x in r.get('confusions', []))} tests: " +
                           "; ".join(e(s) for _, s in strong[:3]) + ("; ..." if len(strong) > 3 else "."))
            note = (f"numbers: results/interpretation.json (notebook 05), {r.get('dataset')}, profile "
                    f"{r.get('profile')}, {r.get('n_test')} test galaxies; figure: the last executed notebook 05 "
                    "(its title names the profile)")
            if r.get("dataset") == "mock":
                pts.append("On the mock the generator ties a lenticular's bulge fraction to its mass, so the "
                           "answer is partly built in: the real catalogue is the real test.")
        slides.append(Slide("What the mistakes have in common", pts, figs("interpretation_misclassified_physics"),
                            note=note))

    # Galaxy10 (notebook 04)
    if res["keras_galaxy10"] or have("galaxy10_confusion"):
        table = None
        if res["keras_galaxy10"]:
            table = [("", "paper", "this repository", "data set, profile, test galaxies")]
            table += [_cells(q, p, o, w) for q, p, o, w in report.galaxy10_rows(res["keras_galaxy10"])]
        slides.append(Slide("Extension: Keras on Galaxy10", [
            "Galaxy10 SDSS (astroNN): 21785 colour images in 10 Galaxy Zoo classes, mapped to E/S0/Sp/Irr; "
            "the same C1/C2 in Keras, with rebalancing strategies compared."],
            figs("galaxy10_confusion", "galaxy10_gallery")[:1], table=table,
            note="results/keras_galaxy10.json (notebook 04)" if res["keras_galaxy10"] else ""))

    # sources
    slides.append(Slide("Where every number comes from", [
        "Paper: Cavanagh, Bekki &amp; Groves 2021, MNRAS 506, 659 (arXiv:2106.01571); Nair &amp; Abraham 2010; SDSS.",
        "This deck: <code>make slides</code> (helpers/slides.py) from figures/*.png and results/*.json.",
        "Results used: " + (e(", ".join(used)) or "none"),
        "Not yet produced (their slides are left out): " + (e(", ".join(missing)) or "none")]))
    return slides, {"used": used, "missing": missing}


# ----------------------------------------------------------------------------- HTML

CSS = """
html,body{margin:0;height:100%;background:#111;font-family:"DejaVu Sans",Helvetica,Arial,sans-serif}
.slide{display:none;box-sizing:border-box;width:100vw;height:100vh;padding:3.5vh 4vw 5vh;background:#fdfdfb;
 color:#1d1d1d;flex-direction:column;overflow:hidden}
.slide.active{display:flex}
h1{font-size:4.4vh;margin:0 0 1.6vh;color:#12355b;border-bottom:.35vh solid #d62728;padding-bottom:.8vh}
.slide.title h1{font-size:6vh;border:none;margin-top:6vh}
ul{font-size:2.55vh;line-height:1.35;margin:0 0 1.5vh;padding-left:3vw}
li{margin-bottom:.6vh}
.body{display:flex;flex:1;min-height:0;gap:2vw;align-items:flex-start}
.body.stack{flex-direction:column;align-items:stretch}
.slide.textonly ul{font-size:3.3vh;line-height:1.45}.slide.textonly li{margin-bottom:1.4vh}
.side{display:flex;flex:1;min-height:0;gap:2.5vw}.side ul{flex:0 0 34%}
.fig{flex:1;min-height:0;display:flex;justify-content:center;align-items:flex-start;height:100%}
.fig img{max-width:100%;max-height:100%;object-fit:contain}
table{border-collapse:collapse;font-size:2.1vh;margin-bottom:1vh}
th,td{border-bottom:1px solid #bbb;padding:.5vh .8vw;text-align:left;vertical-align:top}
th{background:#eef2f7}
.note{font-size:1.7vh;color:#666;margin-top:auto;padding-top:.8vh}
.count{position:fixed;right:1.5vw;bottom:1.2vh;font-size:1.6vh;color:#888}
@media print{@page{size:1280px 720px;margin:0}
 html,body{background:#fff}.slide{display:flex!important;width:1280px;height:720px;page-break-after:always}
 .count{display:none}}
"""

JS = """
const slides=[...document.querySelectorAll('.slide')];let i=0;
function show(n){i=Math.max(0,Math.min(slides.length-1,n));slides.forEach((s,k)=>s.classList.toggle('active',k===i));
 document.getElementById('count').textContent=(i+1)+' / '+slides.length;history.replaceState(null,'','#'+(i+1));}
document.addEventListener('keydown',ev=>{
 if(['ArrowRight','ArrowDown','PageDown',' ','Enter'].includes(ev.key)){show(i+1);ev.preventDefault();}
 else if(['ArrowLeft','ArrowUp','PageUp','Backspace'].includes(ev.key)){show(i-1);ev.preventDefault();}
 else if(ev.key==='Home')show(0);else if(ev.key==='End')show(slides.length-1);});
document.addEventListener('click',ev=>show(ev.clientX>window.innerWidth/3?i+1:i-1));
window.addEventListener('hashchange',()=>show((parseInt(location.hash.slice(1))||1)-1));
show((parseInt(location.hash.slice(1))||1)-1);
"""


def _img(path: Path) -> str:
    return f'<img alt="{e(path.stem)}" src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}">'


def _png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    head = path.read_bytes()[16:24]
    return int.from_bytes(head[:4], "big"), int.from_bytes(head[4:], "big")


def render(slides: list[Slide], figures_dir=None) -> str:
    figures_dir = Path(figures_dir or data.FIGURES_DIR)
    parts = []
    for k, s in enumerate(slides):
        inner = f"<h1>{e(s.title)}</h1>"
        points = "<ul>" + "".join(f"<li>{p}</li>" for p in s.points) + "</ul>" if s.points else ""
        w, h = _png_size(figures_dir / f"{s.figures[0]}.png") if len(s.figures) == 1 else (1, 0)
        if points and not s.table and w < 1.4 * h:  # a tall figure: text on the left, figure on the right
            inner += (f'<div class="side">{points}<div class="fig">{_img(figures_dir / f"{s.figures[0]}.png")}'
                      "</div></div>")
            if s.note:
                inner += f'<div class="note">source: {e(s.note)}</div>'
            parts.append(f'<section class="slide" id="slide-{k + 1}">{inner}</section>')
            continue
        inner += points
        body = ""
        if s.table:
            head, *rows = s.table
            body += ("<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>" +
                     "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows) + "</table>")
        for name in s.figures:
            body += f'<div class="fig">{_img(figures_dir / f"{name}.png")}</div>'
        if body:
            inner += f'<div class="body{" stack" if s.table else ""}">{body}</div>'
        if s.note:
            inner += f'<div class="note">source: {e(s.note)}</div>'
        kind = " title" if k == 0 else (" textonly" if not body else "")
        parts.append(f'<section class="slide{kind}" id="slide-{k + 1}">{inner}</section>')
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{e(slides[0].title)}</title><style>{CSS}</style></head><body>\n" + "\n".join(parts) +
            f'\n<div class="count" id="count"></div><script>{JS}</script></body></html>\n')


def chromium() -> str | None:
    """The headless browser used for the PDF and the test (Debian's 'chromium'), or None."""
    return next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)


def chromium_command(browser: str, profile_dir: str, *args: str) -> list[str]:
    """Headless, sandbox-free (root in containers), no network side traffic, a fresh profile."""
    return [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", f"--user-data-dir={profile_dir}", *args]


def write_pdf(html_path: Path, pdf_path: Path, timeout: float = 120) -> Path:
    browser = chromium()
    if browser is None:
        raise RuntimeError("no chromium on this machine (apt-get install chromium); the HTML deck is enough")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(chromium_command(browser, profile, "--no-pdf-header-footer", f"--print-to-pdf={pdf_path}",
                                        html_path.resolve().as_uri()), check=True, timeout=timeout,
                       capture_output=True)
    return pdf_path


def build(out=OUT, results_dir=None, figures_dir=None) -> Path:
    slides, _ = build_slides(results_dir, figures_dir)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(render(slides, figures_dir))
    tmp.replace(out)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Build the classroom slide deck from figures/ and results/.")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--pdf", action="store_true", help="also print it to PDF with headless chromium")
    args = ap.parse_args(argv)
    path = build(args.out)
    slides, sources = build_slides()
    print(f"{path}: {len(slides)} slides, {path.stat().st_size / 1e6:.1f} MB; "
          f"missing (slides left out): {', '.join(sources['missing']) or 'none'}")
    if args.pdf:
        print(write_pdf(path, path.with_suffix(".pdf")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
