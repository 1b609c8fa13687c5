"""helpers.report: the generated tables from results/*.json, with small fixture files in a temporary folder;
and that the committed README and docs hold what the records give."""
import json
from pathlib import Path

import pytest

from helpers import report


def rec(model, scheme, profile, seed, accuracy, dataset="mock", n_test=100, **extra):
    return {"model": model, "scheme": scheme, "dataset": dataset, "profile": profile, "seed": seed,
            "n_test": n_test, "accuracy": accuracy, **extra}


def per_class(classes, recall):
    return {c: {"precision": 0.5, "recall": r, "f1": 0.5, "support": 10} for c, r in zip(classes, recall)}


def write(folder, topic, records):
    (folder / f"{topic}.json").write_text(json.dumps(records))


def test_missing_files_give_no_rows(tmp_path):
    assert report.rows(tmp_path) == []
    assert "No results yet" in report.table(tmp_path)


def test_most_faithful_profile_and_mean_over_seeds(tmp_path):
    pc = per_class(("E", "S0", "Sp", "Irr+Misc"), (0.9, 0.6, 0.9, 0.1))
    write(tmp_path, "pytorch", [
        rec("C2", "4way", "quick", 0, 0.80, n_test=450, per_class=pc),
        rec("C2", "4way", "full", 0, 0.84, n_test=2106, per_class=pc),
        rec("C2", "4way", "full", 1, 0.86, n_test=2106, per_class=pc),
        rec("C1", "4way", "quick", 0, 0.79, n_test=450),
    ])
    rows = report.rows(tmp_path)
    acc = [r for r in rows if r[0] == "C2 4-way accuracy"]
    assert len(acc) == 1, "only the most faithful profile is shown"
    assert acc[0][1] == "81 %"
    assert acc[0][2] == "85.0 ± 1.4 % (2 seeds)"
    assert acc[0][3] == "mock, `full`, n_test = 2106"
    recall = next(r for r in rows if r[0].startswith("C2 4-way recall"))
    assert recall[1] == "0.87 / 0.60 / 0.89 / 0.27" and recall[2] == "0.90 / 0.60 / 0.90 / 0.10"
    c1 = next(r for r in rows if r[0] == "C1 4-way accuracy")
    assert c1[1] == "-" and "`quick`" in c1[3]


def test_other_topics(tmp_path):
    write(tmp_path, "binary", [rec("C2", "E-vs-Sp", "quick", 0, 0.99, balanced_accuracy=0.985, auc=0.998),
                               rec("C2", "Sp-vs-Irr+Misc", "quick", 0, 0.80, balanced_accuracy=0.7)])
    write(tmp_path, "hierarchical", [rec("hierarchical-paper", "4way", "quick", 0, 0.70),
                                     rec("ovo-voting", "3way", "quick", 0, 0.82)])
    write(tmp_path, "keras_galaxy10", [rec("C2", "4way", "quick", s, a, dataset="galaxy10-mock", framework="keras",
                                           strategy=st) for s, a, st in ((0, 0.8, "none"), (1, 0.9, "none"),
                                                                         (0, 0.7, "oversample"))])
    claim = {"n_wrong": 28, "n_right": 49, "median_wrong": 11.30, "median_right": 11.16,
             "rank_biserial": 0.27, "p_value": 0.026}
    write(tmp_path, "interpretation", [rec("C2", "4way", "quick", 0, 0.82, mass_claim=claim)])
    rows = {r[0]: r for r in report.rows(tmp_path)}
    assert rows["C2 binary E vs Sp"][1] == "> 98 %"
    assert rows["C2 binary E vs Sp"][2] == "99.0 %, balanced 98.5 %, AUC 0.998"
    assert rows["C2 binary Sp vs Irr+Misc"][1] == "78 %" and "AUC" not in rows["C2 binary Sp vs Irr+Misc"][2]
    assert rows["hierarchical-paper 4-way accuracy"][1] == "65 %"
    assert rows["ovo-voting 3-way accuracy"][1] == "-"
    g10 = rows["Galaxy10 C2 4way (framework keras, strategy none)"]
    assert g10[2].startswith("85.0 ± 7.1 % (2 seeds)") and g10[3].startswith("galaxy10-mock")
    assert "Galaxy10 C2 4way (framework keras, strategy oversample)" in rows
    mass = rows["C2 4-way: log M* of S0 called E minus S0 recovered"]
    assert mass[2].startswith("+0.14 dex (median 11.30 vs 11.16)") and "n = 28 / 49" in mass[2]


def repository_like(root, notebooks=("01_first", "02_second")):
    """A tiny repository: the three files with generated blocks and numbered notebooks."""
    (root / "docs").mkdir()
    (root / "notebooks").mkdir()
    (root / "README.md").write_text("intro\n" + "\n".join(f"{b}\nold\n{e}" for b, e in map(report.markers, ("NOTEBOOKS", "HEADLINE"))) + "\nafter\n")
    (root / "docs" / "results.md").write_text("a\n{}\nold table\n{}\nb\n".format(*report.markers("RESULTS")))
    (root / "docs" / "performance.md").write_text("c\n{}\nold\n{}\n".format(*report.markers("BENCH")))
    for k, name in enumerate(notebooks, start=1):
        cells = [{"cell_type": "markdown", "source": [f"# {k}. Title {k}: and a subtitle\n", "text"]}]
        (root / "notebooks" / f"{name}.ipynb").write_text(json.dumps({"cells": cells}))


def test_update_fills_only_the_blocks_and_check_sees_stale_ones(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    repository_like(tmp_path)
    write(results, "pytorch", [rec("C2", "3way", "quick", 0, 0.85, accuracy_ci95=[0.8, 0.9])])
    assert len(report.stale(tmp_path, results)) == 3
    assert sorted(p.name for p in report.update(tmp_path, results)) == ["README.md", "performance.md", "results.md"]
    assert report.stale(tmp_path, results) == [] and report.update(tmp_path, results) == []
    readme = (tmp_path / "README.md").read_text()
    assert readme.startswith("intro\n") and readme.endswith("\nafter\n") and "old" not in readme
    assert "| C2 3-way accuracy | 83 % | 85.0 % [80.0, 90.0] | mock, `quick`, n_test = 100 |" in readme
    assert "[Title 1](notebooks/01_first.ipynb)" in readme
    text = (tmp_path / "docs" / "results.md").read_text()
    assert text.startswith("a\n") and text.endswith("\nb\n") and "old table" not in text
    write(results, "pytorch", [rec("C2", "3way", "quick", 0, 0.86)])  # a new record: the committed tables are stale
    assert sorted(Path(p).name for p in report.stale(tmp_path, results)) == ["README.md", "results.md"]
    (tmp_path / "README.md").write_text("no markers")
    with pytest.raises(ValueError, match="no .*HEADLINE.* block"):
        report.update(tmp_path, results)


def test_committed_tables_are_current():
    """README.md, docs/results.md and docs/performance.md hold what results/*.json give (else run
    python -m helpers.report and commit)."""
    assert report.stale() == [], "stale generated tables: run python -m helpers.report"


def test_headline_is_at_most_twelve_rows_at_the_repository_profile(tmp_path):
    pc = per_class(("E", "S0", "Sp", "Irr+Misc"), (0.9, 0.6, 0.9, 0.1))
    write(tmp_path, "pytorch", [rec(m, s, p, 0, 0.8, per_class=pc) for m in ("C1", "C2") for s in ("3way", "4way")
                                for p in ("quick", "full", "paper")])
    write(tmp_path, "binary", [rec("C2", pair, "quick", 0, 0.9) for pair in ("E-vs-Sp", "E-vs-S0", "Sp-vs-Irr+Misc")])
    rows = report.headline_rows(tmp_path)
    assert len(rows) <= 12
    names = [r[0] for r in rows]
    assert names[:4] == ["C2 3-way accuracy", "C1 3-way accuracy", "C2 4-way accuracy", "C1 4-way accuracy"]
    assert all("`quick`" in r[3] for r in rows[:4])
    assert "C2 4-way accuracy, longer runs" in names and "C1 3-way accuracy, longer runs" not in names
    assert "C2 4-way recall E / S0 / Sp / Irr+Misc, longer runs" in names
    assert "C2 binary E vs Sp" in names and "C2 binary E vs S0" not in names
    assert not any("`paper`" in r[3] for r in rows)


def test_runs_on_an_older_generator_are_marked_and_kept_out_of_the_headline(tmp_path):
    from helpers.mock import GENERATOR_VERSION
    write(tmp_path, "pytorch", [rec("C2", "4way", "paper", 0, 0.89, generator_version=GENERATOR_VERSION - 1),
                                rec("C2", "4way", "full", 0, 0.77, generator_version=GENERATOR_VERSION),
                                rec("C2", "4way", "full", 1, 0.84, generator_version=GENERATOR_VERSION - 1)])
    rows = [r for r in report.pytorch_rows(report.load("pytorch", tmp_path)) if r[0] == "C2 4-way accuracy"]
    assert [r[2] for r in rows] == ["77.0 %", "89.0 %", "84.0 %"]
    assert "before the catalogue's label scatter" not in rows[0][3]
    assert all(f"generator version {GENERATOR_VERSION - 1}: before" in r[3] for r in rows[1:])
    assert [r[2] for r in report.headline_rows(tmp_path) if "4-way accuracy" in r[0]] == ["77.0 %"]


def test_notebook_times_are_recorded_merged_and_indexed(tmp_path):
    repository_like(tmp_path)
    times = tmp_path / "results" / "notebook_times.json"
    report.record_time("notebooks/01_first.ipynb", 75.4, "quick", path=times)
    report.record_time("/elsewhere/01_first.ipynb", 80, "quick", path=times)  # replaces: same notebook and profile
    other = tmp_path / "smoke.json"
    report.record_time("02_second.ipynb", 12, "smoke", path=other)
    report.merge_times(json.loads(other.read_text()), times)
    recs = json.loads(times.read_text())
    assert [(r["notebook"], r["profile"], r["seconds"]) for r in recs] == [("01_first", "quick", 80.0),
                                                                        ("02_second", "smoke", 12.0)]
    assert recs[0]["machine"] and recs[0]["date"]
    index = report.notebook_index(tmp_path / "results", tmp_path / "notebooks")
    assert "| 01 | [Title 1](notebooks/01_first.ipynb) |" in index and "| 80 s | - |" in index
    assert "| 02 | [Title 2](notebooks/02_second.ipynb) |" in index and "| - | 12 s |" in index
    assert "| | all | | - | - |" in index  # a total only when every notebook has its time
    report.record_time("02_second.ipynb", 100, "quick", path=times)
    assert "| | all | | 3.0 min | - |" in report.notebook_index(tmp_path / "results", tmp_path / "notebooks")
    busy = json.loads(times.read_text())
    for r in busy:
        r["load"], r["cores"] = 9.5, 2
    times.write_text(json.dumps(busy))
    assert "load average up to 9.5 on 2 cores), so inflated" in report.notebook_index(
        tmp_path / "results", tmp_path / "notebooks")


def test_words_count_what_a_reader_reads():
    text = ("# Title here\n\nOne two, three.\n\n```bash\nmake test  # not counted\n```\n<!-- hidden words -->\n"
            "| a | b |\n|---|---|\n| c d | e |\n\n![a figure](figures/x.png) and [a link](docs/y.md)")
    assert report.words(text) == 2 + 3 + 2 + 3 + 2 + 1 + 2


def test_readme_is_under_1500_words():
    from helpers import data
    assert report.words((data.ROOT / "README.md").read_text()) < 1500


def test_docs_open_with_a_three_line_summary():
    from helpers import data
    for path in sorted((data.ROOT / "docs").glob("*.md")):
        title, blank, *rest = path.read_text().splitlines()
        summary = rest[:rest.index("")] if "" in rest else rest
        assert title.startswith("# ") and blank == "" and len(summary) == 3, path


def test_broken_file_is_named(tmp_path):
    (tmp_path / "binary.json").write_text("{not json")
    with pytest.raises(ValueError, match="binary.json"):
        report.rows(tmp_path)


def test_c2_full_runs_shown_beside_fewer_paper_seeds(tmp_path):
    pc = per_class(("E", "S0", "Sp", "Irr+Misc"), (0.9, 0.6, 0.9, 0.1))
    write(tmp_path, "pytorch", [rec("C2", "4way", "paper", 0, 0.88, n_test=2106, per_class=pc)]
          + [rec("C2", "4way", "full", s, 0.84 + 0.01 * s, n_test=2106, per_class=pc) for s in range(3)]
          + [rec("C2", "4way", "quick", 0, 0.80, n_test=450, per_class=pc)])
    acc = [r for r in report.rows(tmp_path) if r[0] == "C2 4-way accuracy"]
    assert [r[3] for r in acc] == ["mock, `paper`, n_test = 2106", "mock, `full`, n_test = 2106"]
    assert acc[1][2] == "85.0 ± 1.0 % (3 seeds)"


def test_sim_to_real_rows(tmp_path):
    write(tmp_path, "realism", [
        {"model": "C2", "scheme": "sim-to-real", "train_set": "mock", "profile": "quick", "balanced_accuracy": 0.757,
         "ci95": [0.71, 0.80], "auc": 0.849, "n_mock": 1600, "n_test": 300, "selection": "gz1", "spiral_min_r90_fwhm": 5.0},
        {"model": "C2", "scheme": "statistics", "ks": {"E|S0/gini": 0.3}}])
    (row,) = report.rows(tmp_path)
    assert row[2] == "75.7 % [71, 80], AUC 0.849" and "not shipped" in row[3] and "n_test = 300" in row[3]
    assert "drawn as GZ1's galaxies (r < 17.77, spirals of R90 >= 5 seeing FWHM)" in row[3]
    seeds = [{"model": "C2", "scheme": "sim-to-real", "train_set": "naive", "profile": "quick", "seed": k,
              "balanced_accuracy": ba, "auc": 0.8, "n_mock": 1600, "n_test": 300} for k, ba in enumerate((0.65, 0.70))]
    write(tmp_path, "realism", seeds)
    (row,) = report.rows(tmp_path)  # one row per training set, over its seeds
    assert row[0].startswith("sim-to-real: C2 trained on the naive mock") and row[2] == "67.5 ± 3.5 % (2 seeds: 65.0, 70.0), AUC 0.800"


def test_realism_rows_show_the_discriminator_and_the_ceiling_beside_sim_to_real(tmp_path):
    groups = {"E|S0": {"auc": 0.81, "n_negative": 500}, "Sp": {"auc": 0.9, "n_negative": 500}}
    disc = [{"model": "C2", "scheme": "discriminator", "dataset": name, "profile": "quick", "seed": 0, "auc": a,
             "ci95": [a - 0.02, a + 0.02], "groups": groups, "k": 5, "n_real": 1115, "n_mock": 1115}
            for name, a in (("mock", 0.85), ("naive", 0.95))]
    ceiling = [{"model": "C2", "scheme": "real-trained", "dataset": "real", "profile": "quick", "seed": k, "k": 5,
                "balanced_accuracy": ba, "auc": 0.9, "n_seen": 800, "n_test": 1000} for k, ba in enumerate((0.82, 0.84))]
    sim = [{"model": "C2", "scheme": "sim-to-real", "dataset": "mock", "train_set": "mock", "profile": "quick", "seed": 0,
            "balanced_accuracy": 0.80, "ci95": [0.77, 0.83], "auc": 0.88, "n_mock": 823, "n_test": 1000}]
    gap = [{"model": "C2", "scheme": "sim-to-real-gap", "dataset": "mock", "train_set": "mock", "profile": "quick",
            "seed": "0 vs 0,1", "difference": -0.03, "ci95": [-0.05, -0.01]}]
    write(tmp_path, "realism", disc + ceiling + sim + gap)
    found = report.rows(tmp_path)
    assert [r[0].split(":")[0] for r in found] == ["discriminator", "real-trained ceiling", "sim-to-real"]
    assert found[0][2] == "mock 0.850 [0.830, 0.870] (E|S0 0.81, Sp 0.90); naive 0.950 [0.930, 0.970] (E|S0 0.81, Sp 0.90)"
    assert found[1][2] == "83.0 ± 1.4 % (2 seeds: 82.0, 84.0), AUC 0.900" and "800 real galaxies" in found[1][3]
    assert found[2][2] == "80.0 % [77, 83], AUC 0.880; minus the ceiling -3.0 points [-5.0, -1.0]"


def test_bench_block(tmp_path):
    write(tmp_path, "bench", [{"name": "C2 training", "device": "GPU X", "value": 36867.1, "unit": "images/s",
                               "target": 20000, "higher_is_better": True, "batch": 400, "notes": ""},
                              {"name": "pipeline share", "device": "CPU", "value": 0.013, "unit": "fraction",
                               "target": 0.05, "higher_is_better": False, "batch": 64, "notes": ""}])
    text = report.bench_table(tmp_path)
    assert "| C2 training | GPU X | 400 | 36,867 images/s | >= 20000 |" in text
    assert "| pipeline share | CPU | 64 | 0.013 fraction | <= 0.05 |" in text
