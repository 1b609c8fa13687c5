"""The README's results table, generated from results/*.json (never typed by hand).

``python -m helpers.report`` rewrites the block between the RESULTS markers of README.md.

Rows come from ``pytorch.json`` (C1/C2, 3-way/4-way, per-class recall), ``binary.json`` (the 2-way
networks), ``hierarchical.json`` (binary networks combined), ``keras_galaxy10.json`` (the Galaxy10
extension) and ``interpretation.json`` (the paper's mass claim); a file that does not exist yet adds
no rows. For each configuration (model, scheme, data set and whatever else tells runs apart, e.g. the
framework or a rebalancing strategy) only the most faithful profile is shown (paper > full > quick >
smoke), with mean ± sd over its seeds when there are several, and the last column says which data set,
profile and number of test galaxies each number comes from.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from . import data, paper
from .evaluate import read_records
from .classes import scheme_classes

BEGIN, END = "<!-- RESULTS:BEGIN (python -m helpers.report) -->", "<!-- RESULTS:END -->"
PROFILE_ORDER = ("paper", "full", "quick", "smoke")
# Record fields that tell two configurations of one (model, scheme) apart, besides the data set.
VARIANT_FIELDS = ("framework", "mapping", "strategy", "channels")


def load(topic: str, results_dir=None) -> list[dict]:
    """The records of ``results/<topic>.json``; [] when the file does not exist (yet)."""
    return read_records(Path(results_dir or data.RESULTS_DIR) / f"{topic}.json")


def _fmt(values) -> str:
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return "-"
    if len(values) == 1:
        return f"{100 * values[0]:.1f} %"
    return f"{100 * values.mean():.1f} ± {100 * values.std(ddof=1):.1f} % ({len(values)} seeds)"


def _rank(profile: str) -> int:
    return PROFILE_ORDER.index(profile) if profile in PROFILE_ORDER else len(PROFILE_ORDER)


def most_faithful(records: list[dict], fields=("model", "scheme")) -> dict[tuple, list[dict]]:
    """{(fields..., dataset, variant): records of the most faithful profile}, in first-seen order.
    ``variant`` is a text of the record's VARIANT_FIELDS ('' when it has none)."""
    groups: dict[tuple, dict[str, list[dict]]] = {}
    for r in records:
        variant = ", ".join(f"{k} {r[k]}" for k in VARIANT_FIELDS if r.get(k) is not None)
        key = (*(r.get(f) for f in fields), r.get("dataset"), variant)
        groups.setdefault(key, defaultdict(list))[r.get("profile")].append(r)
    return {key: by_profile[min(by_profile, key=_rank)] for key, by_profile in groups.items()}


def _where(rs: list[dict]) -> str:
    return f"{rs[0].get('dataset')}, `{rs[0].get('profile')}`, n_test = {rs[0].get('n_test', '?')}"


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
            for (m, s, _, variant), rs in sorted(best, key=lambda item: _rank(item[1][0].get("profile"))):
                if (m, s) != (model, scheme):
                    continue
                name = f"{model} {scheme[0]}-way" + (f" ({variant})" if variant else "")
                rows.append((f"{name} accuracy", _paper_accuracy((model, scheme)),
                             _fmt([r["accuracy"] for r in rs]), _where(rs)))
                if model == "C2" and all("per_class" in r for r in rs):
                    classes = scheme_classes(scheme)
                    ours = " / ".join(f"{np.mean([r['per_class'][c]['recall'] for r in rs]):.2f}" for c in classes)
                    ref_recall = " / ".join(f"{v:.2f}" for v in paper.recall_c2(scheme))
                    rows.append((f"C2 {scheme[0]}-way recall {' / '.join(classes)}", ref_recall, ours, _where(rs)))
    return rows


def _accuracy_and_balanced(rs: list[dict]) -> str:
    """Accuracy (mean ± sd over seeds), then the mean balanced accuracy where every record has one."""
    out = _fmt([r["accuracy"] for r in rs])
    if all("balanced_accuracy" in r for r in rs):
        out += f", balanced {100 * np.mean([r['balanced_accuracy'] for r in rs]):.1f} %"
    return out


def binary_rows(records: list[dict]) -> list[tuple[str, str, str, str]]:
    """One row per binary scheme (e.g. 'E-vs-Sp'): accuracy, balanced accuracy and AUC."""
    rows = []
    for (model, scheme, _, variant), rs in most_faithful(records).items():
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
    for (model, scheme, _, variant), rs in most_faithful(records).items():
        ref = _paper_accuracy(("hierarchical", scheme)) if str(model).startswith("hierarchical") else "-"
        name = f"{model} {str(scheme)[0]}-way" + (f" ({variant})" if variant else "")
        rows.append((f"{name} accuracy", ref, _fmt([r["accuracy"] for r in rs]), _where(rs)))
    return rows


def galaxy10_rows(records: list[dict]) -> list[tuple[str, str, str, str]]:
    """The Galaxy10 extension: the paper did not use Galaxy10, so its column is empty."""
    rows = []
    for (model, scheme, _, variant), rs in most_faithful(records).items():
        ours = _accuracy_and_balanced(rs)
        said = f"{model} {scheme}"  # variant fields the model or scheme name already spells are not repeated
        extra = ", ".join(v for v in variant.split(", ") if v and v.split(" ", 1)[-1] not in said)
        name = f"Galaxy10 {model} {scheme}" + (f" ({extra})" if extra else "")
        rows.append((name, "-", ours, _where(rs)))
    return rows


def interpretation_rows(records: list[dict]) -> list[tuple[str, str, str, str]]:
    """The paper's claim that lenticulars called ellipticals are more massive (notebook 05)."""
    rows = []
    for (model, scheme, _, variant), rs in most_faithful(records).items():
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


def realism_rows(records: list[dict]) -> list[tuple[str, str, str, str]]:
    """make realism, on a real GZ1 reference sample that is not shipped: the discriminator's AUC (real
    against mock, for the mock and the naive mock), the real-trained ceiling, and sim-to-real (C2 trained on
    a mock set, tested on the real E|S0 vs Sp) per training set over its seeds, with its paired difference
    from the ceiling where the run measured it."""
    rows = []
    found = {r.get("dataset"): r for r in records if r.get("scheme") == "discriminator"}
    if found:
        value = "; ".join(f"{name} {r['auc']:.3f} [{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}]" +
                          " (" + ", ".join(f"{g} {s['auc']:.2f}" for g, s in r.get("groups", {}).items()) + ")"
                          for name, r in found.items())
        first = next(iter(found.values()))
        rows.append(("discriminator: AUC of C2 telling real from mock stamps (0.5: cannot), mock; naive mock", "-",
                     value, f"{first.get('k')}-fold, `{first.get('profile')}`, {first.get('n_real')} real GZ1 galaxies "
                            f"(not shipped) against {first.get('n_mock')} mock"))
    ceiling = [r for r in records if r.get("scheme") == "real-trained"]
    if ceiling:
        rows.append(("real-trained ceiling: the same C2 trained on real galaxies, balanced accuracy on real E|S0 vs Sp",
                     "-", _seeds_value(ceiling),
                     f"{ceiling[0].get('k')}-fold cross-validation, {ceiling[0].get('n_seen')} real galaxies per "
                     f"training, `{ceiling[0].get('profile')}`, n_test = {ceiling[0].get('n_test', '?')}"))
    gaps = {r.get("train_set"): r for r in records if r.get("scheme") == "sim-to-real-gap"}
    for train_set, trained_on in (("mock", "the mock (every realism element on)"), ("naive", "the naive mock"),
                                  ("mock+bn", "the mock, batch norm from unlabelled real stamps")):
        runs = [r for r in records if r.get("scheme") == "sim-to-real" and r.get("train_set") == train_set]
        if not runs:
            continue
        value = _seeds_value(runs)
        if train_set in gaps:
            g = gaps[train_set]
            value += (f"; minus the ceiling {100 * g['difference']:+.1f} points "
                      f"[{100 * g['ci95'][0]:+.1f}, {100 * g['ci95'][1]:+.1f}]")
        gz1 = str(runs[0].get("framing", "")).startswith("gz1")
        framing = "framed as GZ1 frames its cutouts" if gz1 else "fixed 0.396\"/px framing"
        cut = runs[0].get("spiral_min_r90_fwhm")
        cut = f", spirals of R90 >= {cut:g} seeing FWHM" if cut else ""
        drawn = {"gz1": f"drawn as GZ1's galaxies (r < 17.77{cut})", "nair-abraham": f"drawn as Nair & Abraham's (g < 16{cut})"}
        framing += f", {drawn[runs[0].get('selection', 'nair-abraham')]}"
        rows.append((f"sim-to-real: C2 trained on {trained_on}, balanced accuracy on real E|S0 vs Sp", "-", value,
                     f"{runs[0].get('n_mock', '?')} mock galaxies, `{runs[0].get('profile')}`, {framing}; "
                     f"real GZ1 reference sample (not shipped), n_test = {runs[0].get('n_test', '?')}"))
    return rows


SECTIONS = (("pytorch", pytorch_rows), ("binary", binary_rows), ("hierarchical", hierarchical_rows),
            ("keras_galaxy10", galaxy10_rows), ("interpretation", interpretation_rows), ("realism", realism_rows))


def rows(results_dir=None) -> list[tuple[str, str, str, str]]:
    out = []
    for topic, make in SECTIONS:
        out += make(load(topic, results_dir))
    return out


def table(results_dir=None) -> str:
    found = rows(results_dir)
    if not found:
        return "_No results yet: run `make reproduce`._"
    lines = ["| quantity | paper | this repository | data set, profile, test galaxies |", "|---|---|---|---|"]
    lines += [f"| {q} | {p} | {o} | {w} |" for q, p, o, w in found]
    return "\n".join(lines)


BENCH_BEGIN, BENCH_END = "<!-- BENCH:BEGIN (python -m helpers.report) -->", "<!-- BENCH:END -->"


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


def _fill(text: str, begin: str, end: str, body: str, path) -> str:
    if begin not in text or end not in text:
        raise ValueError(f"{path}: no {begin} ... {end} block to fill")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{body}\n{end}{tail}"


def update_readme(path=data.ROOT / "README.md", results_dir=None) -> None:
    """Fill the RESULTS block (required) and the BENCH block (where the README has one)."""
    path = Path(path)
    text = _fill(path.read_text(), BEGIN, END, table(results_dir), path)
    if BENCH_BEGIN in text:
        text = _fill(text, BENCH_BEGIN, BENCH_END, bench_table(results_dir), path)
    path.write_text(text)


if __name__ == "__main__":
    update_readme()
    print(table())
