"""helpers.report: the README table from results/*.json, with small fixture files in a temporary folder."""
import json

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


def test_update_readme_fills_only_the_block(tmp_path):
    write(tmp_path, "pytorch", [rec("C2", "3way", "quick", 0, 0.85)])
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{report.BEGIN}\nold table\n{report.END}\nafter\n")
    report.update_readme(readme, results_dir=tmp_path)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("\nafter\n") and "old table" not in text
    assert "| C2 3-way accuracy | 83 % | 85.0 % | mock, `quick`, n_test = 100 |" in text
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="no .* block"):
        report.update_readme(readme, results_dir=tmp_path)


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
    readme = tmp_path / "README.md"
    readme.write_text(f"a\n{report.BEGIN}\nold\n{report.END}\nb\n{report.BENCH_BEGIN}\nold\n{report.BENCH_END}\nc\n")
    write(tmp_path, "bench", [{"name": "C2 training", "device": "GPU X", "value": 36867.1, "unit": "images/s",
                               "target": 20000, "higher_is_better": True, "batch": 400, "notes": ""},
                              {"name": "pipeline share", "device": "CPU", "value": 0.013, "unit": "fraction",
                               "target": 0.05, "higher_is_better": False, "batch": 64, "notes": ""}])
    report.update_readme(readme, tmp_path)
    text = readme.read_text()
    assert "| C2 training | GPU X | 400 | 36,867 images/s | >= 20000 |" in text
    assert "| pipeline share | CPU | 64 | 0.013 fraction | <= 0.05 |" in text
    assert "old" not in text and text.startswith("a\n") and text.endswith("c\n")
