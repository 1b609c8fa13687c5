"""The mock Galaxy10 against real galaxies (helpers.galaxy10_realism) on small synthetic images written
here: no dependency on the real sample."""
import h5py
import numpy as np
import pandas as pd
import pytest

from helpers import galaxy10, galaxy10_realism as gr


def blob(colour=(200, 150, 100), sigma_px=6.0, sky=(5, 5, 3), noise=3.0, seed=0):
    """A (69, 69, 3) uint8 image: a round Gaussian galaxy of peak RGB ``colour`` on a noisy sky."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:69, :69] - 34.0
    light = np.exp(-(xx ** 2 + yy ** 2) / (2 * sigma_px ** 2))
    img = np.asarray(sky, float) + light[..., None] * np.asarray(colour, float) + rng.normal(0, noise, (69, 69, 3))
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def write_sample(path, n=8):
    images = np.stack([blob(seed=i) for i in range(n)])
    with h5py.File(path, "w") as f:
        f["images"], f["spiral"] = images, np.arange(n) % 2
    return path


def test_read_sample_and_its_errors(tmp_path):
    write_sample(tmp_path / gr.SAMPLE_FILE)
    x, s = gr.read_sample(tmp_path)
    assert x.shape == (8, 69, 69, 3) and x.dtype == np.uint8 and list(s) == [0, 1] * 4
    with pytest.raises(FileNotFoundError, match="no real Galaxy10-geometry sample"):
        gr.read_sample(tmp_path / "nowhere")
    with h5py.File(tmp_path / "bad.h5", "w") as f:
        f["images"] = np.zeros((2, 69, 69, 3), np.uint8)
    with pytest.raises(ValueError, match="missing datasets"):
        gr.read_sample(tmp_path / "bad.h5")


def test_weak_labels_mock_hold_as_many_spirals_as_others_in_galaxy10_proportions():
    g10 = gr.weak_labels_mock(300)
    assert len(g10) == 600 and gr.weak_label(g10).sum() == 300
    counts = np.bincount(g10, minlength=10)
    assert counts[1] > counts[0] > counts[3] and counts[7] > counts[8] > counts[9]  # Galaxy10's order


def test_hue_is_zero_for_grey_and_rises_to_the_red():
    mask = np.ones((4, 4), bool)
    assert gr.hue(np.full((4, 4, 3), 10.0), mask) == 0
    assert gr.hue(np.dstack([np.full((4, 4), v) for v in (30.0, 20.0, 10.0)]), mask) == pytest.approx(1 / 3)
    assert np.isnan(gr.hue(np.zeros((4, 4, 3)), mask))


def test_pixel_statistics_read_a_synthetic_galaxy_back():
    red, blue = gr.pixel_stats_one(blob((220, 150, 80))), gr.pixel_stats_one(blob((80, 120, 200)))
    big = gr.pixel_stats_one(blob(sigma_px=9.0))
    assert red["flag"] in (0, 1) and red["centre_hue"] > 0.2 > 0 > blue["centre_hue"]
    assert big["size"] > red["size"] > 0.05   # a Gaussian's r50 is 1.18 sigma: 7 px of 69
    # statistics of the sky on the mean of the channels: independent noise of 3 in each averages to 3 / sqrt(3)
    assert red["sky"] == pytest.approx(13 / 3, abs=0.5) and red["noise"] == pytest.approx(3.0 / np.sqrt(3), rel=0.2)
    assert abs(red["acf1"]) < 0.15            # white noise
    assert red["speckle"] == pytest.approx(3.0 * np.sqrt(2), rel=0.2)   # R - B of independent channels
    grey = gr.pixel_stats_one(np.repeat(blob()[..., :1], 3, axis=-1))   # the same noise in every channel
    assert grey["speckle"] == 0


def test_ks_table_zero_for_identical_samples_and_one_for_disjoint_ones():
    t = pd.DataFrame({s: np.arange(10.0) for s in gr.STATISTICS})
    weak = np.arange(10) % 2
    tests = gr.ks_table(t, weak, t.assign(size=t["size"] + 100), weak)
    assert tests["spiral/size"][0] == 1 and tests["not spiral/noise"][0] == 0
    assert set(tests) == {f"{w}/{s}" for w in gr.WEAK for s in gr.STATISTICS}


def test_cli_without_sample_says_so_and_exits_0(tmp_path, capsys):
    assert gr.main(["--sample", str(tmp_path / "nowhere")]) == 0
    out = capsys.readouterr().out
    assert "No real Galaxy10-geometry sample" in out and "nowhere" in out
    with pytest.raises(SystemExit):
        gr.main(["--sample", str(tmp_path), "--parts", "statistics,colour"])
    assert "unknown parts ['colour']" in capsys.readouterr().err


def test_statistics_record_and_figure_on_a_tiny_sample(tmp_path, monkeypatch):
    from helpers import data, evaluate
    monkeypatch.setattr(data, "FIGURES_DIR", tmp_path / "figures")
    write_sample(tmp_path / gr.SAMPLE_FILE, n=10)
    assert gr.main(["--sample", str(tmp_path), "--parts", "statistics", "--workers", "1",
                    "--results-dir", str(tmp_path)]) == 0
    rec, = evaluate.read_records(tmp_path / "realism_galaxy10.json")
    assert rec["scheme"] == "statistics" and rec["mock_version"] == galaxy10.MOCK_VERSION
    assert rec["n_real"] == {"not spiral": 5, "spiral": 5} and rec["n_mock"] == {"not spiral": 5, "spiral": 5}
    assert all(0 <= d <= 1 for d in rec["ks"].values())
    assert (tmp_path / "figures" / "galaxy10_mock_vs_real.png").exists()


def test_verdict_writes_its_numbers_from_the_records():
    from helpers import evaluate
    y = np.r_[np.zeros(50, int), np.ones(50, int)]
    trans = [evaluate.record("C2-keras", "transfer", "galaxy10-real-sample", "quick", s, y, np.r_[np.zeros(40, int),
             np.ones(10, int), np.zeros(15, int), np.ones(35, int)], gr.WEAK, 1000, 5, 10.0, mock_version=2,
             ci95=[0.70, 0.80]) for s in (0, 1)]
    ceil = [evaluate.record("C2-keras", "ceiling", "galaxy10-real-sample", "quick", 0, y, y, gr.WEAK, 340, 9, 50.0,
                            folds=5)]
    disc = [{"scheme": "discriminator", "auc": 0.55, "ci95": [0.51, 0.59], "fold_sd": 0.03, "k": 5, "input_size": 40,
             "n_real": 100, "mock_version": 2, "weak_classes": {"not spiral": {"auc": 0.52}, "spiral": {"auc": 0.58}}}]
    stats = [{"scheme": "statistics", "mock_version": 2, "n_real": {"not spiral": 50, "spiral": 50},
              "ks": {"spiral/size": 0.4, "not spiral/noise": 0.1}, "median": {"real/spiral/size": 0.17,
              "mock/spiral/size": 0.15, "real/not spiral/noise": 3.1, "mock/not spiral/noise": 3.0}}]
    text = gr.verdict(trans + ceil + disc + stats)
    assert "version 2 against 100 real galaxies" in text and "AUC 0.55" in text and "spiral 0.58" in text
    assert "are hard for it to tell from the real ones" in text
    assert "separates mock from real at a balanced accuracy of 0.70 (0.5 + KS / 2)" in text   # 0.5 + 0.4 / 2 > 0.55
    assert "A weak discriminator" not in gr.verdict(trans + ceil + [disc[0] | {"auc": 0.75}] + stats)
    assert "balanced accuracy of 75.0 %" in text and "reaches 100.0 %" in text and "25.0 points below" in text
    assert text.index("r50 / frame of the spiral") < text.index("sky noise (of 255) of the not spiral")
    assert "has not been measured" in gr.verdict([])
