"""Mock against real (helpers.realism) on fake JPEGs written here: no dependency on the real sample."""
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from helpers import data, realism


def write_fake_sample(folder, names=("elliptical", "spiral_cw", "edge_on", "merger", "dont_know")):
    """423x423 RGB JPEGs in the real format: R, G, B constant at 10, 60, 200 with a bright square
    in the blue channel only, and a labels.csv."""
    (folder / "images").mkdir(parents=True)
    rows = []
    for i, name in enumerate(names):
        objid = 587700000000000000 + i
        rgb = np.zeros((423, 423, 3), dtype=np.uint8)
        rgb[..., 0], rgb[..., 1], rgb[..., 2] = 10, 60, 200
        rgb[181:242, 181:242, 2] = 250
        Image.fromarray(rgb).save(folder / "images" / f"{objid}.jpeg", quality=95)
        rows.append((objid, i, name))
    pd.DataFrame(rows, columns=["objid", "gz1_class", "gz1_name"]).to_csv(folder / "labels.csv", index=False)


def test_reader_takes_the_blue_channel_and_frames_the_crop(tmp_path):
    write_fake_sample(tmp_path)
    s = realism.read_sample(tmp_path, crop=211)
    assert s.images.shape == (4, data.STAMP, data.STAMP)            # dont_know is left out
    assert list(s.groups) == ["E|S0", "Sp", "Sp", "merger/Irr"]
    corner = s.images[:, :10, :10]
    assert np.all(np.abs(corner - 200) < 6)                         # blue, not red (10) or green (60)
    # the 61 px bright square of the 211 px crop spans 61 * 110 / 211 = 32 px of the frame
    bright = (s.images[0] > 225).sum(axis=1).max()
    assert 28 <= bright <= 36


def test_reader_names_a_wrong_sized_file(tmp_path):
    write_fake_sample(tmp_path, names=("elliptical",))
    bad = next((tmp_path / "images").glob("*.jpeg"))
    Image.fromarray(np.zeros((100, 100, 3), dtype=np.uint8)).save(bad)
    with pytest.raises(ValueError, match=bad.name):
        realism.read_sample(tmp_path)


def test_stretch_is_monotonic_and_puts_the_sky_at_its_level():
    rng = np.random.default_rng(0)
    sigma = 0.01
    sky = rng.normal(0, sigma, (4, 110, 110)).astype(np.float32)
    s = realism.Stretch(sky=20.0, soften=5.0, q=8.0, jpeg_quality=None)   # sky high: nothing clipped at 0
    out = s(sky)
    assert out.min() >= 0 and out.max() <= 255 and np.all(out == np.round(out))
    st = realism.sky_stats(out)
    assert st["sky"].median() == pytest.approx(20.0, abs=0.6)
    assert st["noise"].median() == pytest.approx(255 / (8 * 5), rel=0.1)   # linear near the sky
    ramp = rng.normal(0, sigma, (1, 110, 110)).astype(np.float32)   # noisy sky sets the noise unit
    ramp[0, 40:70, 40:70] = np.geomspace(1e-3, 1e3, 900).reshape(30, 30).astype(np.float32)
    vals = s(ramp)[0, 40:70, 40:70].ravel()
    assert np.all(np.diff(vals) >= 0) and vals[-1] == 255


def test_jpeg_keeps_the_level_and_smooths_the_noise():
    rng = np.random.default_rng(4)
    lin = rng.normal(0, 0.01, (3, 110, 110)).astype(np.float32)
    lin[:, 45:65, 45:65] += 1.0
    plain = realism.Stretch(sky=20.0, soften=3.0, jpeg_quality=None)(lin)
    jpeg = realism.Stretch(sky=20.0, soften=3.0, jpeg_quality=75)(lin)
    assert jpeg.shape == plain.shape
    assert np.abs(jpeg[:, 50:60, 50:60] - plain[:, 50:60, 50:60]).mean() < 5     # the galaxy keeps its level
    assert realism.sky_stats(jpeg)["noise"].median() < 0.8 * realism.sky_stats(plain)["noise"].median()


@pytest.mark.parametrize("jpeg_quality, frame_jpeg, sky_tolerance",
                         [(None, None, 0.15), (75, None, 0.15), (75, 75, 0.4), (75, 50, 0.4)])
def test_calibrated_stretch_matches_the_target_sky_and_noise(jpeg_quality, frame_jpeg, sky_tolerance):
    """Both JPEGs smooth white noise: the stretch has to clip more of the sky at 0 to reach the
    noise, and the sky level then comes within about a seventh of the noise, not closer."""
    rng = np.random.default_rng(1)
    lin = rng.normal(0, 0.02, (20, 110, 110)).astype(np.float32)
    s = realism.calibrate_stretch(lin, target_sky=3.0, target_noise=2.7, jpeg_quality=jpeg_quality,
                                  frame_jpeg=frame_jpeg)
    st = realism.sky_stats(s(lin)).median()
    assert st["sky"] == pytest.approx(3.0, abs=sky_tolerance)
    assert st["noise"] == pytest.approx(2.7, rel=0.05)


def test_noise_acf_is_zero_for_white_noise_and_high_for_smoothed_noise():
    from scipy.ndimage import gaussian_filter
    white = np.random.default_rng(8).normal(0, 1, (4, 110, 110))
    acf = realism.noise_acf(white)
    assert list(acf.columns) == ["acf1", "acf2", "acf3"] and np.all(np.abs(acf.to_numpy()) < 0.1)
    smooth = realism.noise_acf(np.stack([gaussian_filter(w, 1.5) for w in white])).median()
    assert smooth["acf1"] > 0.7 and smooth["acf1"] > smooth["acf2"] > smooth["acf3"] > 0.2


def test_the_frame_jpeg_correlates_the_sky_noise_of_a_small_galaxy_as_the_real_cutouts():
    """A field 72 px across resampled to the 195 px grid (2.7 times, GZ1's median) with the SDSS
    frames' faint sky (at 0, noise 8 of 255): the frame JPEG at the native pixels before the
    resampling brings the noise ACF at 1 px from about 0.6 towards the real frames' 0.8. (With a
    noise of 20 of 255 or more the JPEG's quantisation leaves the noise alone.)"""
    lin = np.random.default_rng(9).normal(0, 0.01, (6, 72, 72)).astype(np.float32)
    acf = {q: realism.noise_acf(realism.Stretch(sky=0.0, soften=4.0, frame_jpeg=q)(list(lin))).median()["acf1"]
           for q in (None, 75)}
    assert acf[None] < 0.65 and acf[75] > 0.72


def sersic_stamp(n, seed):
    import galsim
    prof = galsim.Convolve(galsim.Sersic(n, half_light_radius=4.0, flux=2e4), galsim.Gaussian(fwhm=1.5))
    img = prof.drawImage(nx=110, ny=110, scale=1.0).array
    return img + np.random.default_rng(seed).normal(0, 1.0, img.shape)


def test_statmorph_concentration_is_higher_for_de_vaucouleurs_than_exponential():
    s = realism.Stretch(sky=3.0, soften=6.0, jpeg_quality=None)
    dev, exp = (realism.measure(s(sersic_stamp(n, k))) for k, n in enumerate((4.0, 1.0)))
    assert dev["flag"] in (0, 1) and exp["flag"] in (0, 1)
    assert dev["concentration"] > exp["concentration"] + 0.3
    assert dev["gini"] > exp["gini"]
    for m in (dev, exp):
        assert m["ellipticity"] < 0.15 and m["asymmetry"] < 0.1 and 0 < m["size"] < 0.3


def test_measure_flags_an_empty_stamp():
    m = realism.measure(np.full((110, 110), 3.0) + np.random.default_rng(0).normal(0, 1, (110, 110)))
    assert m["flag"] == -1 and np.isnan(m["concentration"])


def test_ks_of_identical_samples_is_zero_and_of_shifted_ones_is_not():
    rng = np.random.default_rng(2)
    t = pd.DataFrame({s: rng.normal(size=60) for s in realism.STATISTICS})
    t["group"], t["flag"] = np.repeat(realism.GROUPS, 20), 0
    ks = realism.ks_distances(t, t.copy())
    assert set(ks) == {f"{g}/{s}" for g in realism.GROUPS for s in realism.STATISTICS}
    assert all(v == 0 for v in ks.values())
    shifted = t.copy()
    shifted["gini"] += 10
    assert realism.ks_distances(t, shifted)["Sp/gini"] == 1.0


def test_ks_tests_give_p_values_and_a_perfect_mock_fails_the_target_by_chance_on_few_galaxies():
    rng = np.random.default_rng(3)
    t = pd.DataFrame({s: rng.normal(size=600) for s in realism.STATISTICS})
    t["group"], t["flag"] = np.repeat(realism.GROUPS, 200), 0
    other = t.copy()
    other[list(realism.STATISTICS)] = rng.normal(size=(600, len(realism.STATISTICS)))
    tests = realism.ks_tests(t, other)
    assert all(0 < p <= 1 for _, p in tests.values()) and realism.ks_distances(t, other) == {k: d for k, (d, _) in tests.items()}
    shifted = other.copy()
    shifted["gini"] += 1
    assert realism.ks_tests(t, shifted)["Sp/gini"][1] < 1e-6
    odds = realism.perfect_mock_odds(t, {"E|S0": 150, "Sp": 150, "merger/Irr": 26}, draws=100)
    # one distribution on both sides: with 150 galaxies against 200 a distance exceeds 0.2 in about 2 % of
    # draws and six of them stay below in most; with 26 against 200, in about a third, and six below 0.2
    # at once are the exception
    assert odds["E|S0"]["all_below"] > 0.6 and odds["merger/Irr"]["all_below"] < 0.3
    assert odds["merger/Irr"]["median_ks"] > odds["Sp"]["median_ks"]


def test_best_crop_recovers_a_scaling():
    rng = np.random.default_rng(3)
    mock_size = rng.lognormal(np.log(0.08), 0.3, 500)
    real_at_211 = rng.lognormal(np.log(0.08), 0.3, 500) * 161 / 211   # real galaxies framed in 161 px
    crop, d = realism.best_crop(real_at_211, 211, mock_size)
    assert abs(crop - 161) <= 8 and d < 0.1


def test_train_set_names():
    from helpers.mock import Realism
    assert realism.train_set_name(Realism()) == "mock"
    assert realism.train_set_name(Realism.naive()) == "naive"
    assert realism.train_set_name(Realism().without("dust")) == "mock-without-dust"
    assert len(realism.realism_variants()) == 2 + len(Realism.__dataclass_fields__)


def test_balanced_accuracy():
    assert realism.balanced_accuracy([0, 0, 0, 1], [0, 0, 0, 0]) == 0.5
    assert realism.balanced_accuracy([0, 1, 1, 1], [0, 1, 1, 0]) == pytest.approx((1 + 2 / 3) / 2)


def test_cli_without_sample_says_so_and_exits_0(tmp_path, capsys):
    assert realism.main(["--sample", str(tmp_path / "nowhere")]) == 0
    out = capsys.readouterr().out
    assert "No real SDSS sample" in out and "nowhere" in out


@pytest.mark.parametrize("field_r90", [None, 4.68])
def test_sim_to_real_record_on_a_tiny_run(tmp_path, field_r90):
    from helpers.mock import Realism
    write_fake_sample(tmp_path, names=("elliptical", "elliptical", "spiral_cw", "edge_on"))
    real = realism.read_sample(tmp_path)
    from helpers.mock import NA10_LABELS
    rec, adapted = realism.sim_to_real(real, realism.Stretch(jpeg_quality=None), Realism.naive(), n_mock=30,
                                       profile="smoke", workers=1, progress=False, field_r90=field_r90, adapt_k=2,
                                       labels=NA10_LABELS)
    assert (rec["model"], rec["scheme"], rec["dataset"], rec["train_set"]) == ("C2", "sim-to-real",
                                                                              "naive, catalogue labels", "naive")
    assert rec["labels"]["sigma_t"] == NA10_LABELS.sigma_t and adapted["train_set"] == "naive+bn"
    assert adapted["dataset"] == "naive, catalogue labels+bn" and adapted["n_test"] == 4
    assert len(realism.predictions(adapted)) == 4
    assert rec["framing"].startswith("fixed" if field_r90 is None else "gz1") and rec["selection"] == "nair-abraham"
    assert rec["n_test"] == 4 and rec["classes"] == ["E|S0", "Sp"]
    assert 0 <= rec["balanced_accuracy"] <= 1 and 0 <= rec["auc"] <= 1
    assert rec["ci95"][0] <= rec["balanced_accuracy"] <= rec["ci95"][1]


def test_colour_saturation_caps_red_cores_lower_than_blue_ones():
    rng = np.random.default_rng(5)
    lin = rng.normal(0, 0.01, (2, 110, 110)).astype(np.float32)
    lin[:, 50:60, 50:60] += 100.0                                  # a core far above saturation
    s = realism.Stretch(sky=3.0, soften=3.0, q=8.0, jpeg_quality=None)
    plain = s(lin)
    capped = s(lin, g_minus_i=[1.2, 0.6])                           # a red and a blue galaxy
    assert plain[:, 55, 55].min() == 255
    red, blue = capped[0, 55, 55], capped[1, 55, 55]
    assert red == pytest.approx(float(s.cap(1.2)), abs=1) and red < blue <= 255
    sky_change = np.abs(capped[:, :10, :10] - plain[:, :10, :10])   # the sky keeps its slope:
    assert np.median(sky_change) == 0 and sky_change.max() <= 2     # 1-2 only in 2-3 sigma peaks
    lin[:, 20:25, 20:25] = 0.3                                      # bright, below saturation:
    bright = s(lin, g_minus_i=[1.2, 0.6])[:, 22, 22]                # compressed by the blue share,
    assert bright[0] < bright[1] < s(lin)[0, 22, 22]                # more for the red galaxy


def test_stamps_of_any_size_come_out_as_one_stack_of_frames():
    rng = np.random.default_rng(6)
    stamps = [rng.normal(0, 0.01, (k, k)).astype(np.float32) for k in (50, 110, 230)]
    for k, st in zip((50, 110, 230), stamps):
        st[k // 2 - k // 10:k // 2 + k // 10, k // 2 - k // 10:k // 2 + k // 10] += 1.0   # a square 1/5 of the field
    for quality in (None, 75):
        out = realism.Stretch(sky=20.0, soften=3.0, jpeg_quality=quality)(stamps, g_minus_i=[1.0, 1.0, 1.0])
        assert out.shape == (3, data.STAMP, data.STAMP)
        bright = (out > 100).sum(axis=(1, 2))             # the same field fraction in every frame
        assert np.all(np.abs(bright / (data.STAMP / 5) ** 2 - 1) < 0.3)
    same = realism.Stretch(jpeg_quality=None)
    np.testing.assert_array_equal(same([stamps[1]])[0], same(stamps[1]))   # a standard stamp: untouched grid


def test_a_g_stamp_and_its_g_r_i_copies_at_the_same_colour_make_the_same_composite():
    rng = np.random.default_rng(10)
    g = rng.normal(0, 0.01, (60, 60)).astype(np.float32)
    g[25:35, 25:35] += 5.0
    rho = 10 ** (0.4 * (1.1 - 0.35))                  # i / g as balanced, for g - i = 1.1
    gri = np.stack([g, g * 10 ** (0.2 * 1.1), g * 10 ** (0.4 * 1.1)])
    s = realism.Stretch(sky=3.0, soften=3.0, jpeg_quality=None)
    np.testing.assert_allclose(s.composite(g, 1.1), s.composite(gri), atol=1e-3)
    rgb = s.composite(gri)
    assert rgb[30, 30, 0] == pytest.approx(255) and rgb[30, 30, 2] == pytest.approx(255 / rho, rel=0.05)
    out = realism.Stretch(sky=3.0, soften=3.0)([gri, g], g_minus_i=[np.nan, 1.1])   # through the colour JPEGs
    assert out.shape == (2, data.STAMP, data.STAMP) and np.abs(out[0] - out[1]).mean() < 1


def test_radial_profile_falls_from_the_centre_and_reads_a_flat_image_back():
    yy, xx = np.mgrid[:110, :110] - 54.5
    blob = 100 * np.exp(-(xx ** 2 + yy ** 2) / (2 * 10.0 ** 2))
    prof = realism.radial_profile(np.stack([blob, blob]))
    assert len(prof) == len(realism.PROFILE_EDGES) - 1 and np.all(np.diff(prof) < 0) and prof[0] > 95
    np.testing.assert_allclose(realism.radial_profile(np.full((1, 110, 110), 7.0)), 7.0)


def test_mock_vs_real_figure_shows_each_distance_with_its_p_value():
    import matplotlib.pyplot as plt

    from helpers import plots
    rng = np.random.default_rng(4)
    groups = np.repeat(realism.GROUPS, 6)
    images = rng.normal(10, 1, (len(groups), 110, 110)).astype(np.float32)
    table = pd.DataFrame({s: rng.normal(size=len(groups)) for s in realism.STATISTICS})
    table.insert(0, "group", groups)
    table["flag"] = 0
    tests = realism.ks_tests(table, table.assign(gini=table["gini"] + 5), realism.STATISTICS)
    fig = plots.mock_vs_real(images, groups, images, groups, table, table, tests, realism.GROUPS,
                             realism.STATISTICS, per_group=2, target=realism.KS_TARGET)
    texts = [t.get_text() for ax in fig.get_axes() for t in ax.texts]
    assert any(t.startswith("KS 1.000\np ") for t in texts) and any(t.startswith("KS 0.000\np 1") for t in texts)
    plt.close(fig)


def test_stratified_folds_put_every_item_in_one_fold_and_keep_each_strata_share():
    strata = np.array(["real/E|S0"] * 23 + ["real/Sp"] * 17 + ["mock/E|S0"] * 23 + ["mock/Sp"] * 17)
    folds = realism.stratified_folds(strata, k=5, seed=3)
    assert folds.shape == strata.shape and set(folds) == set(range(5))
    sizes = np.bincount(folds)
    assert sizes.max() - sizes.min() <= 1
    for s in np.unique(strata):
        per = np.bincount(folds[strata == s], minlength=5)
        assert per.max() - per.min() <= 1
    np.testing.assert_array_equal(folds, realism.stratified_folds(strata, k=5, seed=3))
    assert not np.array_equal(folds, realism.stratified_folds(strata, k=5, seed=4))
    with pytest.raises(ValueError, match="k-fold"):
        realism.stratified_folds(strata[:3], k=5)


def test_cross_score_scores_each_item_once_by_a_trainer_that_never_saw_it():
    folds = realism.stratified_folds(np.repeat([0, 1], 20), k=4, seed=0)
    calls = []

    def train_and_score(train_idx, test_idx):
        assert not set(train_idx) & set(test_idx)                     # no leakage
        assert len(train_idx) + len(test_idx) == len(folds)
        calls.append(test_idx)
        return test_idx * 10.0                                        # a score that names its item
    scores = realism.cross_score(train_and_score, folds)
    np.testing.assert_array_equal(scores, np.arange(40) * 10.0)
    assert len(calls) == 4 and sorted(np.concatenate(calls)) == list(range(40))
    with pytest.raises(ValueError, match="scores for"):
        realism.cross_score(lambda tr, te: np.zeros(1), folds)


def test_auc_counts_ordered_pairs_and_ties_as_half():
    assert realism.auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert realism.auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert realism.auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5
    assert realism.auc([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9]) == 0.75      # 3 of the 4 pairs in order
    with pytest.raises(ValueError, match="both labels"):
        realism.auc([1, 1], [0.2, 0.3])


def test_auc_summary_gives_an_interval_and_each_folds_auc():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 200)
    scores = rng.normal(labels * 1.0, 1.0)                              # true AUC = Phi(1 / sqrt 2) = 0.760
    folds = realism.stratified_folds(labels, k=5, seed=0)
    s = realism.auc_summary(labels, scores, folds, n_boot=300)
    assert s["ci95"][0] < s["auc"] < s["ci95"][1] and s["ci95"][0] < 0.760 < s["ci95"][1]
    assert len(s["folds"]) == 5 and 0 < s["fold_sd"] < 0.1 and (s["n_positive"], s["n_negative"]) == (200, 200)
    same = realism.auc_summary(labels, rng.normal(size=400), folds, n_boot=300)
    assert same["ci95"][0] < 0.5 < same["ci95"][1]


def test_surest_picks_the_extremes_of_each_side_within_a_group():
    labels = np.array([1, 1, 1, 0, 0, 0, 1, 0])
    scores = np.array([0.9, 0.6, 0.99, 0.1, 0.4, 0.05, 1.0, 0.0])
    group = np.array([True] * 6 + [False] * 2)
    pos, neg = realism.surest(labels, scores, n=2, among=group)
    assert list(pos) == [2, 0] and list(neg) == [5, 3]
    pos, neg = realism.surest(labels, scores, n=1)
    assert list(pos) == [6] and list(neg) == [7]


def test_paired_difference_of_two_predictors_on_the_same_items():
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1], 300)
    good = np.where(rng.random(600) < 0.85, y, 1 - y)                   # right on 85 %
    worse = np.where(rng.random(600) < 0.9, good, 1 - good)             # the same, 10 % of calls flipped
    d = realism.paired_difference(y, worse, good, n_boot=300)
    assert d["a"] == realism.balanced_accuracy(y, worse) and d["b"] == realism.balanced_accuracy(y, good)
    assert d["difference"] == pytest.approx(d["a"] - d["b"]) and d["ci95"][0] < d["difference"] < d["ci95"][1] < 0
    zero = realism.paired_difference(y, good, good, n_boot=50)
    assert zero["difference"] == 0 and zero["ci95"] == [0, 0]
    runs = realism.paired_difference(y, np.stack([worse, good]), good, n_boot=50)   # the mean over runs
    assert runs["a"] == pytest.approx((d["a"] + d["b"]) / 2)
    with pytest.raises(ValueError, match="items"):
        realism.paired_difference(y[:10], good, good)


def test_real_trained_ceiling_tests_every_real_galaxy_once(tmp_path, monkeypatch):
    """The bookkeeping of the cross-validated ceiling, with a stub trainer that records what it was given."""
    write_fake_sample(tmp_path, names=("elliptical",) * 6 + ("spiral_cw",) * 4 + ("merger",))
    real = realism.read_sample(tmp_path)
    seen = []

    class Stub:
        def __init__(self, idx):
            self.idx = idx

    def fake_fit(x, y, train_idx, prof, seed, progress=False):
        from helpers.train import History
        seen.append(set(train_idx))
        return Stub(train_idx), History(best_epoch=1, stopped_epoch=2, train_seconds=1.0)

    def fake_predict(model, images, input_size):
        return np.stack([np.full(len(images), 0.3), np.full(len(images), 0.7)], axis=1)   # everything Sp
    monkeypatch.setattr(realism, "_fit_c2", fake_fit)
    monkeypatch.setattr("helpers.evaluate.predict_proba", fake_predict)
    rec = realism.real_trained(real, profile="smoke", seed=0, k=2)
    test, y = realism.real_disks(real)
    assert len(test) == 10 and list(real.groups[test]).count("merger/Irr") == 0
    assert rec["scheme"] == "real-trained" and rec["n_test"] == 10 and rec["k"] == 2
    assert len(seen) == 2 and not seen[0] & seen[1] and len(seen[0] | seen[1]) == 10   # each fold trains apart
    assert rec["n_seen"] == 5 and rec["train_seconds"] == 2.0
    np.testing.assert_array_equal(realism.predictions(rec), np.ones(10))
    assert rec["balanced_accuracy"] == 0.5 and rec["fold_balanced_accuracy"] == [0.5, 0.5]
    gap = realism.gap_to_ceiling([rec | {"dataset": "mock", "train_set": "mock", "seed": 0}], [rec], y)
    assert gap["difference"] == 0 and gap["scheme"] == "sim-to-real-gap" and gap["seed"] == "0 vs 0"


def test_discriminator_figure_shows_each_auc_and_the_surest_stamps():
    import matplotlib.pyplot as plt

    from helpers import plots
    rng = np.random.default_rng(5)
    summary = lambda a: {"auc": a, "ci95": [a - 0.03, a + 0.03], "folds": [a - 0.01, a + 0.01, None], "n_negative": 60}
    records = {name: {**summary(a), "n_real": 120, "k": 3, "groups": {g: summary(a) for g in ("E|S0", "Sp")}}
               for name, a in (("mock", 0.81), ("naive", 0.93))}
    shown = {g: {"index": np.arange(4), "is_mock": np.array([1, 1, 0, 0]), "score": np.array([0.99, 0.9, 0.2, 0.01]),
                 "stamps": rng.normal(size=(4, 50, 50)), "integrated_gradients": rng.normal(size=(4, 50, 50))}
             for g in ("E|S0", "Sp")}
    fig = plots.discriminator(records, shown)
    texts = [t.get_text() for ax in fig.get_axes() for t in ax.texts]
    titles = [ax.get_title() for ax in fig.get_axes()]
    assert "0.81" in texts and "0.93" in texts
    assert "mock: P 0.990" in titles and "real: P 0.990" in titles     # the real side shows P(real)
    plt.close(fig)


def test_mock_size_for_holds_as_many_disk_and_elliptical_galaxies_as_asked():
    from helpers.classes import stratified_counts
    for wanted in (1, 100, 800, 1234):
        n = realism.mock_size_for(wanted)
        assert n - stratified_counts(n)["Irr+Misc"] >= wanted > n - 1 - stratified_counts(n - 1)["Irr+Misc"]


def test_what_is_missing_writes_its_numbers_from_the_records():
    groups, shape = realism.GROUPS, list(realism.SHAPE_STATISTICS)
    ks = {f"{g}/{s}": 0.1 for g in groups for s in shape} | {"Sp/m20": 0.31}
    median = {f"{side}/{g}/{s}": 1.0 for side in ("real", "mock") for g in groups for s in shape}
    median |= {"real/Sp/m20": -1.30, "mock/Sp/m20": -1.41}
    stats = {"scheme": "statistics", "ks": ks, "median": median, "shape_statistics": shape,
             "sky": {f"{side}/{g}": {"acf1": 0.8} for side in ("real", "mock") for g in groups},
             "n_real": {"E|S0": 400, "Sp": 400, "merger/Irr": 26},
             "ks_perfect_mock": {"E|S0": {"all_below": 1.0}, "Sp": {"all_below": 1.0}, "merger/Irr": {"all_below": 0.2}}}
    run = lambda dataset, ba: {"scheme": "sim-to-real", "dataset": dataset, "balanced_accuracy": ba, "n_test": 1000,
                               "confusion_normalised": [[0.7, 0.3], [0.2, 0.8]]}
    records = [stats, run("mock", 0.75), run("mock", 0.77), run("naive", 0.74), run("mock, catalogue labels", 0.73),
               {"scheme": "real-trained", "balanced_accuracy": 0.794}]
    text = realism.what_is_missing(records)
    assert f"{len(shape) * len(groups) - 1} of the {len(shape) * len(groups)} shape statistics" in text
    assert "Sp m20 (-1.41 in the mock against -1.30, KS 0.31)" in text
    assert "the 26 real merger/Irr in 20 %" in text and "E|S0 in" not in text
    assert "76.0 % balanced accuracy on the real galaxies over 2 seeds (75.0 to 77.0 %)" in text
    assert "reaches 79.4 %" in text and "73.0 % (-3.0 points)" in text
    assert "74.0 %: +2.0 points for the realism elements, within one run's sampling error of about 3.1" in text
    assert "run `make realism`" in realism.what_is_missing([])
