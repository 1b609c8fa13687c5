"""The README's results table, generated from results/*.json (never typed by hand).

``python -m helpers.report`` rewrites the block between the RESULTS markers of README.md.
"""
from __future__ import annotations

import json
from collections import defaultdict

import numpy as np

from . import data, paper
from .classes import scheme_classes

BEGIN, END = "<!-- RESULTS:BEGIN (python -m helpers.report) -->", "<!-- RESULTS:END -->"
PROFILE_ORDER = ("paper", "full", "quick", "smoke")


def load(topic: str) -> list[dict]:
    path = data.RESULTS_DIR / f"{topic}.json"
    return json.loads(path.read_text()) if path.exists() else []


def _fmt(values) -> str:
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return "-"
    if len(values) == 1:
        return f"{100 * values[0]:.1f} %"
    return f"{100 * values.mean():.1f} ± {100 * values.std(ddof=1):.1f} % ({len(values)} seeds)"


def pytorch_rows(records: list[dict]) -> list[tuple[str, str, str, str]]:
    """(quantity, paper, this repository, where from) for the C1/C2 3-way/4-way results."""
    groups = defaultdict(list)
    for r in records:
        groups[(r["model"], r["scheme"], r["dataset"], r["profile"])].append(r)
    rows = []
    for scheme in ("3way", "4way"):
        for model in ("C2", "C1"):
            for (m, s, dataset, prof), rs in sorted(groups.items(), key=lambda kv: PROFILE_ORDER.index(kv[0][3])
                                                     if kv[0][3] in PROFILE_ORDER else 9):
                if (m, s) != (model, scheme):
                    continue
                where = f"{dataset}, `{prof}`, n_test = {rs[0]['n_test']}"
                ref = paper.ACCURACY.get((model, scheme))
                rows.append((f"{model} {scheme[0]}-way accuracy", f"{100 * ref:.0f} %" if ref else "-",
                             _fmt([r["accuracy"] for r in rs]), where))
                if model == "C2":
                    classes = scheme_classes(scheme)
                    ours = " / ".join(f"{np.mean([r['per_class'][c]['recall'] for r in rs]):.2f}" for c in classes)
                    ref_recall = " / ".join(f"{v:.2f}" for v in paper.recall_c2(scheme))
                    rows.append((f"C2 {scheme[0]}-way recall {' / '.join(classes)}", ref_recall, ours, where))
    return rows


def table() -> str:
    rows = pytorch_rows(load("pytorch"))
    if not rows:
        return "_No results yet: run `make reproduce`._"
    lines = ["| quantity | paper | this repository | data set, profile, test galaxies |", "|---|---|---|---|"]
    lines += [f"| {q} | {p} | {o} | {w} |" for q, p, o, w in rows]
    return "\n".join(lines)


def update_readme(path=data.ROOT / "README.md") -> None:
    text = path.read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(f"{path}: no {BEGIN} ... {END} block to fill")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{table()}\n{END}{tail}")


if __name__ == "__main__":
    update_readme()
    print(table())
