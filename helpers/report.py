"""Every generated table of the repository, from results/*.json (never typed by hand).

``python -m helpers.report`` rewrites each block between its markers (``<!-- NAME:BEGIN ... -->``,
``<!-- NAME:END -->``):

- README.md: ``HEADLINE`` (at most 12 rows, chosen in :func:`headline_rows`) and ``NOTEBOOKS`` (the
  notebook index with each notebook's wall time under ``quick`` and ``smoke``);
- docs/results.md: ``RESULTS``, every result;
- docs/performance.md: ``BENCH``, the benchmark records of ``results/bench.json``.

``python -m helpers.report`` also draws the figures that gather several runs (:func:`draw_figures`).
``--check`` regenerates the blocks in memory and exits 1 naming those that differ from the committed
files (tests/test_report.py does the same). ``--time NOTEBOOK SECONDS`` records a notebook's wall time
(``make notebooks`` calls it; ``make nbval`` records through ``conftest.py`` into ``.test-output/``,
never into results/), and ``--merge-times FILE`` folds such a file into ``results/notebook_times.json``.

Rows come from ``pytorch.json`` (C1/C2, 3-way/4-way, per-class recall), ``binary.json`` (the 2-way
networks), ``hierarchical.json`` (binary networks combined), ``keras_galaxy10.json`` (the Galaxy10
extension), ``interpretation.json`` (the paper's mass claim) and ``realism.json`` (sim-to-real); a file
that does not exist yet adds no rows. For each configuration (model, scheme, data set and whatever else
tells runs apart, e.g. the framework or a rebalancing strategy) the full table shows only the most
faithful profile (paper > full > quick > smoke), with mean ± sd over its seeds when there are several
(one seed: its bootstrap 95 % interval), and the last column says which data set, profile and number
of test galaxies each number comes from.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path

import numpy as np

from . import data, paper
from .evaluate import VERSION_FIELD, read_records, write_json
from .classes import scheme_classes

PROFILE_ORDER = ("paper", "full", "quick", "smoke")
# The profile that stands for the repository: what `make reproduce` runs and the committed notebooks show.
REPOSITORY_PROFILE = "quick"
# Record fields that tell two configurations of one (model, scheme) apart, besides the data set.
VARIANT_FIELDS = ("framework", "mapping", "strategy", "channels")
TIMES = "notebook_times"  # results/notebook_times.json: one record per (notebook, profile, data set)


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:BEGIN (python -m helpers.report) -->", f"<!-- {name}:END -->"


def load(topic: str, results_dir=None) -> list[dict]:
    """The records of ``results/<topic>.json``; [] when the file does not exist (yet)."""
    return read_records(Path(results_dir or data.RESULTS_DIR) / f"{topic}.json")


def _fmt(values, interval=None) -> str:
    """A percentage: mean ± sd over seeds, or one value with its 95 % interval where one is given."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return "-"
    if len(values) == 1:
        ci = f" [{100 * interval[0]:.1f}, {100 * interval[1]:.1f}]" if interval else ""
        return f"{100 * values[0]:.1f} %{ci}"
    return f"{100 * values.mean():.1f} ± {100 * values.std(ddof=1):.1f} % ({len(values)} seeds)"


def _accuracy(rs: list[dict]) -> str:
    return _fmt([r["accuracy"] for r in rs], rs[0].get("accuracy_ci95") if len(rs) == 1 else None)


def _rank(profile: str) -> int:
    return PROFILE_ORDER.index(profile) if profile in PROFILE_ORDER else len(PROFILE_ORDER)


def most_faithful(records: list[dict], fields=("model", "scheme")) -> dict[tuple, list[dict]]:
    """{(fields..., dataset, variant, generator version): records of the most faithful profile}, in
    first-seen order. ``variant`` is a text of the record's VARIANT_FIELDS ('' when it has none); runs on
    another version of the mock's generator are never pooled with this one's."""
    groups: dict[tuple, dict[str, list[dict]]] = {}
    for r in records:
        variant = ", ".join(f"{k} {r[k]}" for k in VARIANT_FIELDS if r.get(k) is not None)
        key = (*(r.get(f) for f in fields), r.get("dataset"), variant, r.get(VERSION_FIELD))
        groups.setdefault(key, defaultdict(list))[r.get("profile")].append(r)
    return {key: by_profile[min(by_profile, key=_rank)] for key, by_profile in groups.items()}


def older_generator(r: dict) -> bool:
    """A mock run recorded on an earlier version of the generator than today's (a record that does not
    say is taken as today's)."""
    from .mock import GENERATOR_VERSION
    return r.get("dataset") == "mock" and r.get(VERSION_FIELD, GENERATOR_VERSION) < GENERATOR_VERSION


def _where(rs: list[dict]) -> str:
    older = f" (generator version {rs[0].get(VERSION_FIELD)}: before the catalogue's label scatter)" \
        if older_generator(rs[0]) else ""
    return f"{rs[0].get('dataset')}{older}, `{rs[0].get('profile')}`, n_test = {rs[0].get('n_test', '?')}"


def _paper_accuracy(key) -> str:
    ref = paper.ACCURACY.get(key)
    if ref is None:
        return "-"
    return f"> {100 * ref:.0f} %" if key in getattr(paper, "AT_LEAST", ()) else f"{100 * ref:.0f} %"


def pytorch_rows(records: list[dict]) -> list[tuple[str, str, str, str]]:
    """(quantity, paper, this repository, where from) for the C1/C2 3-way/4-way results. Besides the
    most faithful profile, C2 also shows its `full` runs when they are not the most faithful: the
    GPU's `paper` runs may hold fewer seeds than the CPU's `full` runs, which show the spread."""
    best = list(most_faithful(records).items())
    full = most_faithful([r for r in records if r.get("profile") == "full" and r.get("model") == "C2"])
    best += [(key, rs) for key, rs in full.items() if dict(best).get(key, rs)[0].get("profile") != "full"]
    rows = []
    for scheme in ("3way", "4way"):
        for model in ("C2", "C1", "AlexNet", "Dieleman"):
            for (m, s, _, variant, _), rs in sorted(best, key=lambda item: (older_generator(item[1][0]),
                                                                          _rank(item[1][0].get("profile")))):
                if (m, s) != (model, scheme):
                    continue
                name = f"{model} {scheme[0]}-way" + (f" ({variant})" if variant else "")
                rows.append((f"{name} accuracy", _paper_accuracy((model, scheme)), _accuracy(rs), _where(rs)))
                if model == "C2" and all("per_class" in r for r in rs):
                    classes = scheme_classes(scheme)
                    ours = " / ".join(f"{np.mean([r['per_class'][c]['recall'] for r in rs]):.2f}" for c in classes)
                    ref_recall = " / ".join(f"{v:.2f}" for v in paper.recall_c2(scheme))
                    rows.append((f"C2 {scheme[0]}-way recall {' / '.join(classes)}", ref_recall, ours, _where(rs)))
    return rows


def _accuracy_and_balanced(rs: list[dict]) -> str:
    """Accuracy (mean ± sd over seeds, or its interval), then the mean balanced accuracy where every record has one."""
    out = _accuracy(rs)
    if all("balanced_accuracy" in r for r in rs):
        out += f", balanced {100 * np.mean([r['balanced_accuracy'] for r in rs]):.1f} %"
    return out


def binary_rows(records: list[dict]) -> list[tuple[str, str, str, str]]:
    """One row per binary scheme (e.g. 'E-vs-Sp'): accuracy, balanced accuracy and AUC."""
    rows = []
    for (model, scheme, _, variant, _), rs in most_faithful(records).items():
        ours = _accuracy_and_balanced(rs)
        if all(r.get("auc") is not None for r in rs):
            ours += f", AUC {np.mean([r['auc'] for r in rs]):.3f}"
        pair = str(scheme).replace("-vs-", " vs ").replace("|", "+")
        name = f"{model} binary {pair}" + (f" ({variant})" if variant else "")
        rows.append((name, _paper_accuracy(("binary", scheme)), ours, _where(rs)))
    return rows


def hierarchical_rows(records: list[dict]) -> list[tuple[str, str, str, str]]:
    """One row per combination of binary networks (e.g. 'hierarchical-...', 'ovo-voting') and scheme."""
    rows = []
    for (model, scheme, _, variant, _), rs in most_faithful(records).items():
        ref = _paper_accuracy(("hierarchical", scheme)) if str(model).startswith("hierarchical") else "-"
        name = f"{model} {str(scheme)[0]}-way" + (f" ({variant})" if variant else "")
        rows.append((f"{name} accuracy", ref, _accuracy(rs), _where(rs)))
    return rows


def galaxy10_rows(records: list[dict]) -> list[tuple[str, str, str, str]]:
    """The Galaxy10 extension: the paper did not use Galaxy10, so its column is empty."""
    rows = []
    for (model, scheme, _, variant, _), rs in most_faithful(records).items():
        ours = _accuracy_and_balanced(rs)
        said = f"{model} {scheme}"  # variant fields the model or scheme name already spells are not repeated
        extra = ", ".join(v for v in variant.split(", ") if v and v.split(" ", 1)[-1] not in said)
        name = f"Galaxy10 {model} {scheme}" + (f" ({extra})" if extra else "")
        rows.append((name, "-", ours, _where(rs)))
    return rows


def interpretation_rows(records: list[dict]) -> list[tuple[str, str, str, str]]:
    """The paper's claim that lenticulars called ellipticals are more massive (notebook 05)."""
    rows = []
    for (model, scheme, _, variant, _), rs in most_faithful(records).items():
        claims = [r["mass_claim"] for r in rs if r.get("mass_claim")]
        if not claims:
            continue
        c = claims[0]
        seeds = f" (seed {rs[0].get('seed')} of {len(rs)})" if len(rs) > 1 else ""
        ours = (f"{c['median_wrong'] - c['median_right']:+.2f} dex (median {c['median_wrong']:.2f} vs "
                f"{c['median_right']:.2f}), r = {c['rank_biserial']:+.2f}, one-sided p = {c['p_value']:.2g}, "
                f"n = {c['n_wrong']} / {c['n_right']}{seeds}")
        rows.append((f"{model} {str(scheme)[0]}-way: log M* of S0 called E minus S0 recovered",
                     "more massive (abstract)", ours, _where(rs)))
    return rows


def _seeds_value(runs: list[dict]) -> str:
    """Balanced accuracy over the seeds (one seed: with its bootstrap interval), then the mean AUC."""
    ba, auc = np.array([r["balanced_accuracy"] for r in runs]), np.mean([r["auc"] for r in runs])
    if len(runs) == 1:
        lo, hi = runs[0].get("ci95") or (np.nan, np.nan)
        return f"{100 * ba[0]:.1f} % [{100 * lo:.0f}, {100 * hi:.0f}], AUC {auc:.3f}"
    return (f"{100 * ba.mean():.1f} ± {100 * ba.std(ddof=1):.1f} % ({len(runs)} seeds: "
            f"{', '.join(f'{100 * x:.1f}' for x in ba)}), AUC {auc:.3f}")


def sim_to_real(records: list[dict], dataset: str = "mock") -> list[dict]:
    """The sim-to-real runs (make realism) of one training set at one size ("mock": the size that matches the
    ceiling's; "mock, 4000": 4,000 mock galaxies), one record per seed."""
    return [r for r in records if r.get("scheme") == "sim-to-real" and r.get("dataset") == dataset]


def realism_rows(records: list[dict], brief: bool = False) -> list[tuple[str, str, str, str]]:
    """make realism, on a real GZ1 reference sample that is not shipped: the discriminator's AUC (real
    against mock, for the mock and the naive mock), the real-trained ceiling, and sim-to-real (C2 trained on
    a mock set, tested on the real E|S0 vs Sp) per training set over its seeds, with its paired difference
    from the ceiling where the run measured it. ``brief`` (the README's headline): the mock alone, its
    training sets without ablations, the last column without the framing and selection."""
    rows = []
    found = {r.get("dataset"): r for r in records if r.get("scheme") == "discriminator"}
    if found:
        value = "; ".join(f"{name} {r['auc']:.3f} [{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}]" +
                          " (" + ", ".join(f"{g} {s['auc']:.2f}" for g, s in r.get("groups", {}).items()) + ")"
                          for name, r in found.items() if not brief or name == "mock")
        first = next(iter(found.values()))
        rows.append(("discriminator: AUC of C2 telling real from mock stamps (0.5: cannot), "
                     + ("the mock" if brief else "mock; naive mock"), "-",
                     value, f"{first.get('k')}-fold, `{first.get('profile')}`, {first.get('n_real')} real GZ1 galaxies "
                            f"(not shipped) against {first.get('n_mock')} mock"))
    ceiling = [r for r in records if r.get("scheme") == "real-trained"]
    if ceiling:
        rows.append(("real-trained ceiling: the same C2 trained on real galaxies, balanced accuracy on real E|S0 vs Sp",
                     "-", _seeds_value(ceiling),
                     f"{ceiling[0].get('k')}-fold cross-validation, {ceiling[0].get('n_seen')} real galaxies per "
                     f"training, `{ceiling[0].get('profile')}`, n_test = {ceiling[0].get('n_test', '?')}"))
    gaps = {r.get("dataset"): r for r in records if r.get("scheme") == "sim-to-real-gap"}
    names = {"mock": "the mock (every realism element on)", "naive": "the naive mock",
             "mock+bn": "the mock, batch norm from unlabelled real stamps", "naive+bn": "the naive mock, batch norm "
             "from unlabelled real stamps"}
    sim = [r for r in records if r.get("scheme") == "sim-to-real" and r.get("train_set") in names
           and (not brief or r.get("dataset") == "mock")]
    for train_set, dataset in dict.fromkeys((r["train_set"], r.get("dataset")) for r in sim):
        runs = [r for r in sim if (r["train_set"], r.get("dataset")) == (train_set, dataset)]
        value = _seeds_value(runs)
        if dataset in gaps:
            g = gaps[dataset]
            value += (f"; minus the ceiling {100 * g['difference']:+.1f} points "
                      f"[{100 * g['ci95'][0]:+.1f}, {100 * g['ci95'][1]:+.1f}]")
        gz1 = str(runs[0].get("framing", "")).startswith("gz1")
        framing = "framed as GZ1 frames its cutouts" if gz1 else "fixed 0.396\"/px framing"
        cut = runs[0].get("spiral_min_r90_fwhm")
        cut = f", spirals of R90 >= {cut:g} seeing FWHM" if cut else ""
        drawn = {"gz1": f"drawn as GZ1's galaxies (r < 17.77{cut})", "nair-abraham": f"drawn as Nair & Abraham's (g < 16{cut})"}
        framing = "" if brief else f", {framing}, {drawn[runs[0].get('selection', 'nair-abraham')]}"
        detail = f" ({dataset.split(', ', 1)[1]})" if ", " in str(dataset) else ""
        rows.append((f"sim-to-real: C2 trained on {names[train_set]}{detail}, balanced accuracy on real E|S0 vs Sp",
                     "-", value,
                     f"{runs[0].get('n_mock', '?')} mock galaxies, `{runs[0].get('profile')}`{framing}; "
                     f"real GZ1 reference sample (not shipped), n_test = {runs[0].get('n_test', '?')}"))
    return rows


SECTIONS = (("pytorch", pytorch_rows), ("binary", binary_rows), ("hierarchical", hierarchical_rows),
            ("keras_galaxy10", galaxy10_rows), ("interpretation", interpretation_rows), ("realism", realism_rows))
HEADER = ["| quantity | paper | this repository | data set, profile, test galaxies |", "|---|---|---|---|"]


def rows(results_dir=None) -> list[tuple[str, str, str, str]]:
    out = []
    for topic, make in SECTIONS:
        out += make(load(topic, results_dir))
    return out


def _markdown(found) -> str:
    if not found:
        return "_No results yet: run `make reproduce`._"
    cell = lambda text: str(text).replace("|", "\\|")  # a bare | would split a Markdown table's cell
    return "\n".join(HEADER + ["| " + " | ".join(map(cell, row)) + " |" for row in found])


def table(results_dir=None) -> str:
    """The full results table (docs/results.md)."""
    return _markdown(rows(results_dir))


HEADLINE_BINARY = ("C2 binary E vs Sp", "C2 binary Sp vs Irr+Misc")  # the two pairs the abstract gives


def headline_rows(results_dir=None) -> list[tuple[str, str, str, str]]:
    """The README's rows (at most 12; why these: docs/results.md): C1 and C2, 3-way and 4-way, at the
    profile that stands for the repository (what `make reproduce` gives); C2's longer `full` runs over
    seeds, with its per-class recall in 4-way; the two binary pairs the abstract quotes; the mock against
    real galaxies (discriminator, real-trained ceiling, sim-to-real). Runs on an earlier generator (the
    `paper` profile's, so far) stay in docs/results.md, marked."""
    torch = [r for r in load("pytorch", results_dir) if not older_generator(r)]
    at = lambda profile: pytorch_rows([r for r in torch if r.get("profile") == profile])
    out = [r for r in at(REPOSITORY_PROFILE) if r[0].endswith("accuracy")]
    out += [(f"{q}, longer runs", p, o, w) for q, p, o, w in at("full")
            if q.startswith("C2") and (q.endswith("accuracy") or q.startswith("C2 4-way recall"))]
    out += [r for r in binary_rows(load("binary", results_dir)) if r[0] in HEADLINE_BINARY]
    out += realism_rows(load("realism", results_dir), brief=True)
    return out[:12]


def headline(results_dir=None) -> str:
    return _markdown(headline_rows(results_dir))


def bench_table(results_dir=None) -> str:
    """The benchmark records (results/bench.json, `make bench` and benchmarks/paper_gpu.py) as a table."""
    recs = load("bench", results_dir)
    if not recs:
        return "_No benchmark yet: run `make bench`._"
    lines = ["| benchmark | device | batch | measured | target |", "|---|---|---|---|---|"]
    for r in recs:
        value = f"{r['value']:.3g}" if abs(r["value"]) < 1000 else f"{r['value']:,.0f}"
        target = "" if r.get("target") is None else (f"{'>=' if r.get('higher_is_better', True) else '<='} "
                                                      f"{r['target']:g}")
        lines.append(f"| {r['name']} | {r['device']} | {r.get('batch') or ''} | {value} {r['unit']} | {target} |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the notebook index

NOTEBOOK_SHOWS = {  # what each notebook shows, in a line (its title is read from the notebook)
    "01": "T-types to classes, the mock set against the paper's counts and the real sky, the 40 views, the split",
    "02": "C1 and C2, 3-way and 4-way: learning curves, confusion matrices, per-class recall against the paper",
    "03": "the six binary networks, hierarchical trees and one-vs-one voting against the direct C2",
    "04": "Galaxy10 mapped to E/S0/Sp two ways, four rebalancing strategies, C2 in Keras and PyTorch",
    "05": "feature maps, saliency, what the misclassified galaxies have in common, the paper's mass claim",
}


def machine() -> str:
    """This CPU in words (model, cores, and whether it trains in bfloat16 on AMX)."""
    model, amx = "unknown CPU", False
    try:
        info = Path("/proc/cpuinfo").read_text()
        model = re.search(r"model name\s*:\s*(.+)", info).group(1).strip()
        amx = " amx_tile" in info
    except (OSError, AttributeError):
        pass
    return f"{model}, {os.cpu_count()} cores{', AMX' if amx else ''}"


def record_time(notebook: str, seconds: float, profile: str, dataset: str = "mock", path=None) -> Path:
    """Merge one notebook's wall time into ``path`` (default results/notebook_times.json)."""
    path = Path(path or Path(data.RESULTS_DIR) / f"{TIMES}.json")
    # The 15-minute load average says whether others computed meanwhile (the times are then inflated).
    return merge_times([{"notebook": Path(notebook).stem, "profile": profile, "dataset": dataset,
                         "seconds": round(float(seconds), 1), "date": date.today().isoformat(),
                         "machine": machine(), "cores": os.cpu_count(), "load": round(os.getloadavg()[2], 1)}], path)


def merge_times(records: list[dict], path=None) -> Path:
    """Records with the same (notebook, profile, data set) replace the stored ones."""
    path = Path(path or Path(data.RESULTS_DIR) / f"{TIMES}.json")
    key = lambda r: (r["notebook"], r["profile"], r["dataset"])
    merged = {key(r): r for r in read_records(path)}
    merged.update({key(r): r for r in records})
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_json(path, sorted(merged.values(), key=key))


def _duration(seconds) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def notebook_title(path: Path) -> str:
    """The notebook's title: its first heading, without the number and what follows a colon."""
    for cell in json.loads(Path(path).read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            first = "".join(cell["source"]).lstrip("# ").splitlines()[0]
            return re.sub(r"^\d+\.\s*", "", first).split(":")[0].strip()
    return Path(path).stem


def notebook_index(results_dir=None, notebooks_dir=None) -> str:
    """The README's notebook index: number, title, what it shows, wall time under quick and smoke."""
    notebooks = sorted(Path(notebooks_dir or data.ROOT / "notebooks").glob("0*.ipynb"))
    times = {(r["notebook"], r["profile"]): r for r in load(TIMES, results_dir) if r.get("dataset") == "mock"}
    lines = ["| # | notebook | what it shows | `quick` | `smoke` |", "|---|---|---|---|---|"]
    total = defaultdict(float)
    for nb in notebooks:
        cells = []
        for profile in ("quick", "smoke"):
            r = times.get((nb.stem, profile))
            cells.append(_duration(r and r["seconds"]))
            total[profile] += r["seconds"] if r else np.nan
        number = nb.stem[:2]
        lines.append(f"| {number} | [{notebook_title(nb)}](notebooks/{nb.name}) | {NOTEBOOK_SHOWS.get(number, '')} "
                     f"| {' | '.join(cells)} |")
    lines.append(f"| | all | | {_duration(total['quick']) if total['quick'] == total['quick'] else '-'} "
                 f"| {_duration(total['smoke']) if total['smoke'] == total['smoke'] else '-'} |")
    runs = defaultdict(list)
    for r in times.values():
        runs[(r["profile"], r["machine"], r["date"])].append(r)
    said = []
    for (p, m, d), rs in sorted(runs.items()):
        peak = max(r.get("load", 0) for r in rs)
        shared = (f", shared with other work (load average up to {peak:g} on {rs[0]['cores']} cores), so "
                  "inflated") if peak > rs[0].get("cores", peak) else ""
        said.append(f"`{p}` on {m}, {d}{shared}")
    if said:
        lines.append("\nWall times: " + "; ".join(said) + ".")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- writing and checking

BLOCKS = (("README.md", "HEADLINE", headline), ("README.md", "NOTEBOOKS", notebook_index),
          ("docs/results.md", "RESULTS", table), ("docs/performance.md", "BENCH", bench_table))


def _fill(text: str, name: str, body: str, path) -> str:
    begin, end = markers(name)
    if begin not in text or end not in text:
        raise ValueError(f"{path}: no {begin} ... {end} block to fill")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{body}\n{end}{tail}"


def generated(root=None, results_dir=None) -> dict[Path, tuple[str, str]]:
    """{file: (committed text, text with every block regenerated)}, computed in memory."""
    root = Path(root or data.ROOT)
    out: dict[Path, tuple[str, str]] = {}
    for name, block, make in BLOCKS:
        path = root / name
        old, new = out.get(path, (path.read_text(),) * 2)
        body = make(results_dir, root / "notebooks") if make is notebook_index else make(results_dir)
        out[path] = (old, _fill(new, block, body, path))
    return out


def stale(root=None, results_dir=None) -> list[str]:
    """The files whose committed blocks differ from what the results records give."""
    return [str(path) for path, (old, new) in generated(root, results_dir).items() if old != new]


def update(root=None, results_dir=None) -> list[Path]:
    """Rewrite every block; returns the files that changed."""
    changed = []
    for path, (old, new) in generated(root, results_dir).items():
        if old != new:
            path.write_text(new)
            changed.append(path)
    return changed


def draw_figures(results_dir=None) -> list[Path]:
    """The figures drawn from the records of several runs: figures/results_vs_paper.png (C2 against the
    paper, with intervals; today's generator only), figures/misclassified_effects.png (notebook 05's most
    faithful run) and figures/galaxy10_rebalancing.png (the strategies over paired seeds)."""
    from . import plots
    paths = []
    torch = [r for r in load("pytorch", results_dir) if r.get("model") == "C2" and not older_generator(r)]
    inter = [r for r in load("interpretation", results_dir) if r.get("confusions")]
    for name, draw, records in (("results_vs_paper", plots.results_vs_paper, torch),
                                ("misclassified_effects", lambda rs: plots.misclassified_effects(
                                    min(rs, key=lambda r: _rank(r.get("profile")))), inter),
                                ("galaxy10_rebalancing", plots.rebalancing_over_seeds,
                                 load("galaxy10_rebalancing", results_dir))):
        if records:
            fig = draw(records)
            paths.append(plots.save(fig, name))
            plots.plt.close(fig)
    return paths


def words(markdown: str) -> int:
    """Words a reader reads in rendered Markdown: prose and tables count, fenced code blocks and HTML
    comments do not; a link or image counts its text, not its address; table rules and Markdown
    punctuation are not words."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return sum(1 for w in text.split() if re.search(r"\w", w))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m helpers.report", description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if a committed table is stale")
    ap.add_argument("--time", nargs=2, metavar=("NOTEBOOK", "SECONDS"), help="record a notebook's wall time")
    ap.add_argument("--profile", default=os.environ.get("PROFILE", "quick"))
    ap.add_argument("--dataset", default=os.environ.get("DATASET", "mock"))
    ap.add_argument("--times", type=Path, default=None, help="the times file (default results/notebook_times.json)")
    ap.add_argument("--merge-times", type=Path, metavar="FILE", help="fold FILE's times into results/")
    args = ap.parse_args(argv)
    if args.time:
        print(record_time(args.time[0], float(args.time[1]), args.profile, args.dataset, args.times))
        return 0
    if args.merge_times:
        merge_times(read_records(args.merge_times), args.times)
    if args.check:
        found = stale()
        print("stale: " + ", ".join(found) + " (run python -m helpers.report)" if found else "every table is current")
        return 1 if found else 0
    for path in update():
        print(f"rewrote {path.relative_to(data.ROOT)}")
    for path in draw_figures():
        print(f"drew {path.relative_to(data.ROOT)}")
    print(f"README.md: {words((data.ROOT / 'README.md').read_text())} words (limit 1500)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
