"""helpers.interpret: feature maps, saliency and the statistics of the misclassified galaxies."""
import numpy as np
import pytest
import torch

from helpers import interpret, models_torch, train


@pytest.fixture(scope="module")
def c2():
    train.seed_everything(0)
    return models_torch.build_model("C2", 4, 50).eval()


def test_feature_maps_follow_the_layer_list(c2):
    maps = interpret.feature_maps(c2, torch.zeros(1, 1, 50, 50))
    assert [m.shape for _, m in maps] == [(32, 44, 44), (32, 22, 22), (64, 18, 18), (64, 14, 14), (64, 7, 7),
                                          (128, 5, 5), (128, 2, 2)]
    assert maps[0][0].startswith("conv 1 (7x7): 32 maps 44x44")
    assert all((m >= 0).all() for _, m in maps)  # after ReLU and max-pooling


def test_saliency_shapes_and_completeness(c2):
    x = torch.randn(3, 1, 50, 50) * 0.3
    s = interpret.saliency(c2, x, [0, 1, 2], n_steps=32)
    assert s["integrated_gradients"].shape == s["gradcam"].shape == (3, 50, 50)
    assert (s["gradcam"] >= 0).all()
    with torch.no_grad():
        gap = (c2(x) - c2(torch.zeros_like(x)))[torch.arange(3), torch.tensor([0, 1, 2])].numpy()
    # integrated gradients add up to logit(x) - logit(baseline), up to the integral's error
    np.testing.assert_allclose(s["integrated_gradients"].sum(axis=(1, 2)) - gap, s["ig_delta"], atol=1e-4)
    assert np.all(np.abs(s["ig_delta"]) < 0.05 * np.abs(gap).max() + 1e-3)


def test_holm_matches_the_textbook():
    # p sorted 0.01, 0.02, 0.03, 0.04 with m = 4: 0.04, 0.06, 0.06 (monotone), 0.06
    np.testing.assert_allclose(interpret.holm([0.03, 0.01, 0.04, 0.02]), [0.06, 0.04, 0.06, 0.06])
    out = interpret.holm([0.5, np.nan, 0.9])
    assert np.isnan(out[1]) and out[0] == 1.0 and out[2] == 1.0


def test_compare_sign_and_effect_size():
    rng = np.random.default_rng(0)
    high, low = rng.normal(1, 1, 200), rng.normal(0, 1, 200)
    r = interpret.compare(high, low)
    assert r["rank_biserial"] > 0.3 and r["p_value"] < 1e-6 and r["median_wrong"] > r["median_right"]
    assert interpret.compare(low, high)["rank_biserial"] == pytest.approx(-r["rank_biserial"])
    every_above = interpret.compare([10, 11, 12], [1, 2, 3])
    assert every_above["rank_biserial"] == 1.0


def test_confusion_physics_finds_a_planted_difference():
    rng = np.random.default_rng(1)
    n = 400
    meta = np.zeros(n, dtype=[("log_mstar", "f4"), ("z", "f4"), ("ttype", "i2")])
    y_true = np.repeat([0, 1], n // 2)
    meta["log_mstar"] = rng.normal(10.5, 0.3, n)
    meta["z"] = rng.uniform(0.01, 0.1, n)
    # lenticulars (1) above 10.7 are called ellipticals (0); two ellipticals called lenticular
    y_pred = y_true.copy()
    y_pred[(y_true == 1) & (meta["log_mstar"] > 10.7)] = 0
    y_pred[:2] = 1
    entries = interpret.confusion_physics(meta, y_true, y_pred, ("E", "S0"))
    by = {(e["true"], e["predicted"]): e for e in entries}
    assert by[("E", "S0")]["n_wrong"] == 2 and not by[("E", "S0")]["tests"] and "not_tested" in by[("E", "S0")]
    tests = {t["parameter"]: t for t in by[("S0", "E")]["tests"]}
    assert set(tests) == {"log_mstar", "z"}  # ttype is not a physical parameter to compare
    assert tests["log_mstar"]["rank_biserial"] == 1.0 and tests["log_mstar"]["p_holm"] < 1e-6
    assert tests["z"]["p_holm"] >= tests["z"]["p_value"]
    claim = interpret.mass_claim(meta, y_true, y_pred, ("E", "S0"))
    assert claim["median_wrong"] > claim["median_right"] and claim["p_value"] < 1e-6


def test_pick_examples_takes_the_most_confident():
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    assert interpret.pick_examples(y, proba, 2) == [(0, True), (1, False), (3, True), (2, False)]


def test_wilson_interval_brackets_the_proportion():
    from helpers.evaluate import wilson_ci
    lo, hi = wilson_ci(0, 10)
    assert lo == pytest.approx(0, abs=1e-12) and 0.2 < hi < 0.35
    lo, hi = wilson_ci(50, 100)
    assert lo < 0.5 < hi and hi - lo == pytest.approx(0.19, abs=0.01)


def test_boundary_claim_finds_mistakes_planted_near_the_boundaries():
    rng = np.random.default_rng(0)
    true_t = rng.choice([-5, -3, -2, 0, 1, 3, 5, 9, 99], 400)
    from helpers.classes import boundary_distance, ttypes_to_labels
    y_cat = ttypes_to_labels(true_t)
    pred = y_cat.copy()
    near = np.flatnonzero(boundary_distance(true_t) == 0.5)
    pred[near[:40]] = (pred[near[:40]] + 1) % 4          # the network errs only next to a boundary
    res = interpret.boundary_claim(true_t, y_cat, pred)
    assert res["median_wrong"] == 0.5 < res["median_right"] and res["p_value"] < 1e-3
    rows = {r["distance"]: r for r in res["by_distance"]}
    assert rows[0.5]["accuracy"] < 1 and rows[4.5]["accuracy"] == 1 and rows[4.5]["label_agreement"] == 1
    assert sum(r["n"] for r in res["by_distance"]) == int(np.sum(true_t != 99))
    lo, hi = rows[0.5]["accuracy_ci95"]
    assert lo < rows[0.5]["accuracy"] < hi


def test_truth_fields_count_what_the_catalogue_and_the_network_get_right():
    from helpers import experiment
    classes = ("E", "S0", "Sp")
    truth = np.array([0, 1, 2, 2, 3])          # the last galaxy is Irr+Misc, outside the 3-way scheme
    y_cat = np.array([0, 0, 2, 2, 2])          # the catalogue calls the S0 an E
    pred = np.array([0, 1, 2, 1, 2])
    f = experiment.truth_fields(y_cat, pred, truth, classes)
    assert f["accuracy_true"] == pytest.approx(3 / 5) and f["label_agreement"] == pytest.approx(3 / 5)
    assert np.array(f["confusion_true"]).sum() == 4 and f["confusion_true"][2] == [0, 1, 1]
