"""Galaxy10: the file and its validation, the channel that is g, the mappings, the mock, views, rebalancing."""
import re

import h5py
import numpy as np
import pytest

from helpers import data, galaxy10
from helpers.classes import GALAXY10_MAPPINGS, galaxy10_classes, galaxy10_relabel


def write_g10(path, n=12, shape=(69, 69, 3), dtype=np.uint8, keys=("images", "ans"), labels=None):
    """A small file in the real Galaxy10.h5 format (keys images, ans)."""
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        if "images" in keys:
            f["images"] = rng.integers(0, 256, size=(n, *shape)).astype(dtype)
        if "ans" in keys:
            f["ans"] = np.asarray(labels if labels is not None else np.arange(n) % 10, dtype=np.uint8)
    return path


def test_read_a_file_in_the_real_format(tmp_path):
    path = write_g10(tmp_path / "Galaxy10.h5")
    x, y, extras = galaxy10.read(path, expected_sha256=None)
    assert x.shape == (12, 69, 69, 3) and x.dtype == np.uint8 and y.dtype == np.int64
    assert list(y) == [i % 10 for i in range(12)] and "split" not in extras
    x2, _, _ = galaxy10.read(path, expected_sha256=galaxy10.sha256(path))
    assert np.array_equal(x, x2)


@pytest.mark.parametrize("kwargs,message", [
    ({"keys": ("images",)}, "missing \\['ans'\\]"),
    ({"shape": (64, 64, 3)}, "expected \\(N, 69, 69, 3\\)"),
    ({"dtype": np.float32}, "expected uint8"),
    ({"labels": [12] * 12}, "labels outside 0..9"),
])
def test_bad_files_are_named_with_the_reason(tmp_path, kwargs, message):
    path = write_g10(tmp_path / "bad.h5", **kwargs)
    with pytest.raises(galaxy10.Galaxy10FileError, match=message) as e:
        galaxy10.read(path, expected_sha256=None)
    assert "bad.h5" in str(e.value)


def test_checksum_truncation_and_absence(tmp_path, monkeypatch):
    path = write_g10(tmp_path / "Galaxy10.h5")
    with pytest.raises(galaxy10.Galaxy10FileError, match="SHA-256 .* is not Galaxy10's"):
        galaxy10.read(path)  # a file in the right format but not the published one
    monkeypatch.setenv("GALAXY10_PATH", str(path))  # load_real checks the checksum, never recurses
    with pytest.raises(galaxy10.Galaxy10FileError, match="SHA-256"):
        galaxy10.load_real()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(galaxy10.Galaxy10FileError, match="cut.h5: cannot read as HDF5"):
        galaxy10.read(cut, expected_sha256=None)
    with pytest.raises(galaxy10.Galaxy10FileError, match="no such file"):
        galaxy10.read(tmp_path / "absent.h5")


def test_g_is_the_blue_channel():
    assert galaxy10.BANDS_RGB == ("i", "r", "g") and galaxy10.G_CHANNEL == 2
    images = np.zeros((1, 69, 69, 3), dtype=np.uint8)
    images[..., 0], images[..., 1], images[..., 2] = 10, 20, 255  # R, G, B
    g = galaxy10.channels(images, "g")
    assert g.shape == (1, 69, 69, 1) and np.all(g == 1.0)
    assert galaxy10.channels(images, "gri").shape == (1, 69, 69, 3)


def test_mock_colours_red_ellipticals_blue_spirals():
    def red_over_blue(g10):
        ratios = []
        for i in range(3):
            im, _ = galaxy10.mock_galaxy(7, i, g10)
            core = im[24:45, 24:45].astype(float)
            ratios.append(core[..., 0].sum() / core[..., 2].sum())
        return np.mean(ratios)
    assert red_over_blue(1) > 1.05 * red_over_blue(9)


def test_mock_is_deterministic_and_in_the_real_format():
    a, p = galaxy10.mock_galaxy(1, 5, 8)
    b, _ = galaxy10.mock_galaxy(1, 5, 8)
    assert a.shape == (69, 69, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert 12 <= p["arm_pitch_deg"] <= 23 and p["inclination_deg"] <= 55


def test_mock_proportions_are_galaxy10s():
    labels = galaxy10.mock_labels(sum(galaxy10.DOC_COUNTS), 0)
    assert tuple(np.bincount(labels, minlength=10)) == galaxy10.DOC_COUNTS
    assert len(galaxy10.mock_labels(2000, 0)) == 2000


def test_mappings_and_their_counts():
    labels = np.repeat(np.arange(10), galaxy10.DOC_COUNTS)
    counts = {}
    for name in GALAXY10_MAPPINGS:
        mask, y = galaxy10_relabel(labels, name)
        counts[name] = dict(zip(galaxy10_classes(name), np.bincount(y).tolist())), int((~mask).sum())
    assert counts["earlier-4way"] == ({"E": 13683, "S0": 2140, "Sp": 2546, "Irr+Misc": 3461}, 0)
    assert counts["earlier-3way"] == ({"E": 13683, "S0": 2140, "Sp": 6007}, 0)
    assert counts["better-3way"] == ({"E": 13289, "S0": 3855, "Sp": 3135}, 1551)


def test_split_is_shared_stratified_and_leak_free():
    labels = galaxy10.mock_labels(2000, 0)
    s = galaxy10.split(labels, 0)
    data.check_no_leakage(np.arange(2000), s)
    for c in (0, 1, 9):
        assert abs(np.mean(s[labels == c] == 2) - 0.15) < 0.02
    assert np.array_equal(s, galaxy10.split(labels, 0))


def test_views_and_batches():
    rng = np.random.default_rng(0)
    images = rng.random((4, 69, 69, 3)).astype(np.float32)
    views = {galaxy10.view(images[0], v).tobytes() for v in range(40)}
    assert len(views) == 40
    centre = galaxy10.view(images, data.CENTRE_VIEW)
    assert np.array_equal(centre, images[:, 2:66, 2:66])
    b = galaxy10.batch(images, [0, 2], None, 40)
    assert b.shape == (2, 40, 40, 3) and b.flags.c_contiguous
    assert np.array_equal(galaxy10.batch(images, [1], [5], 64)[0], galaxy10.view(images[1], 5))
    flat = galaxy10.batch(np.full((1, 69, 69, 1), 0.3, np.float32), [0], [3], 40)
    assert np.allclose(flat, 0.3)  # area resampling keeps a flat image flat
    t = galaxy10.torch_batch(images, [0, 2], None, 40)
    assert tuple(t.shape) == (2, 3, 40, 40) and np.allclose(t.numpy(), b.transpose(0, 3, 1, 2))


def test_rebalancing():
    labels = np.array([0] * 50 + [1] * 20 + [2] * 5)
    idx, mode = galaxy10.rebalance(labels, "undersample", 0)
    assert mode == "none" and list(np.bincount(labels[idx])) == [5, 5, 5] and len(set(idx)) == 15
    idx, mode = galaxy10.rebalance(labels, "oversample", 0)
    assert list(np.bincount(labels[idx])) == [50, 50, 50] and set(idx) == set(range(75))
    assert galaxy10.rebalance(labels, "class-weights")[1] == "balanced"
    assert len(galaxy10.rebalance(labels, "none")[0]) == 75
    with pytest.raises(ValueError, match="unknown strategy"):
        galaxy10.rebalance(labels, "smote")


def test_pytorch_trains_on_colour_batches():
    from helpers import models_torch, train
    rng = np.random.default_rng(1)
    x = galaxy10.channels(rng.integers(0, 256, (24, 69, 69, 3), dtype=np.uint8), "gri")
    y = rng.integers(0, 2, 24)
    prof = train.Profile("tiny", 24, 40, 8, 1e-3, 1, 1, "random-view", "balanced", (0,))
    train.seed_everything(0)
    model = models_torch.build_model("C2", 2, 40, channels=3)
    hist = train.fit(model, x[:16], y[:16], x[16:], y[16:], prof, 0, progress=False, batch_fn=galaxy10.torch_batch)
    assert hist.stopped_epoch == 1


def test_mock_cache_from_another_generator_or_mock_version_is_rebuilt(tmp_path, monkeypatch, capsys):
    import h5py
    monkeypatch.setattr(galaxy10, "mock_path", lambda n, seed: tmp_path / f"g10_{n}_{seed}.h5")
    monkeypatch.setattr(galaxy10.os, "cpu_count", lambda: 1)  # rendered here, not in spawned workers
    path = galaxy10.ensure_mock(12, seed=2, progress=False)
    with h5py.File(path, "a") as f:
        assert f.attrs["generator_version"] == galaxy10.mock.GENERATOR_VERSION
        f.attrs["generator_version"] = galaxy10.mock.GENERATOR_VERSION - 1
    assert galaxy10.ensure_mock(12, seed=2, progress=False) == path
    assert "rebuilding" in capsys.readouterr().out
    with h5py.File(path, "a") as f:
        assert f.attrs["generator_version"] == galaxy10.mock.GENERATOR_VERSION
        assert f.attrs["mock_version"] == galaxy10.MOCK_VERSION
        del f.attrs["mock_version"]   # a file written before the mock Galaxy10 had a version of its own
    assert galaxy10.ensure_mock(12, seed=2, progress=False) == path
    assert "mock Galaxy10 version None" in capsys.readouterr().out
    with h5py.File(path) as f:
        assert f.attrs["mock_version"] == galaxy10.MOCK_VERSION


def test_parse_seeds():
    assert galaxy10.parse_seeds("0-3") == [0, 1, 2, 3]
    assert galaxy10.parse_seeds("5,1-2,2") == [1, 2, 5]


def _rebalancing_record(strategy, seed, ba, s0):
    return {"rebalancing": strategy, "seed": seed, "balanced_accuracy": ba, "per_class": {"S0": {"recall": s0}}}


def test_paired_summary_pairs_the_seeds():
    rng = np.random.default_rng(0)
    base = rng.normal(0.7, 0.05, 8)   # seeds differ a lot; the paired differences do not
    records = [_rebalancing_record("none", s, b, 0.3) for s, b in enumerate(base)]
    records += [_rebalancing_record("class-weights", s, b + 0.02 + 0.001 * (-1) ** s, 0.5) for s, b in enumerate(base)]
    records += [_rebalancing_record("undersample", s, b, 0.3) for s, b in enumerate(base[:5])]
    out = galaxy10.paired_summary(records)
    assert out["none"]["seeds"] == 8 and "vs_none" not in out["none"]["balanced_accuracy"]
    cw = out["class-weights"]["balanced_accuracy"]["vs_none"]
    assert cw["difference"] == pytest.approx(0.02) and cw["ci"][0] > 0.018 and cw["ci"][1] < 0.022
    assert 0 < cw["detectable"] < 0.005 < out["class-weights"]["balanced_accuracy"]["sd"]
    assert out["class-weights"]["S0_recall"]["vs_none"]["difference"] == pytest.approx(0.2)
    under = out["undersample"]["balanced_accuracy"]["vs_none"]
    assert under["seeds"] == 5 and under["difference"] == pytest.approx(0.0)


def test_rebalancing_runs_write_one_record_per_strategy_and_seed_and_resume(tmp_path, monkeypatch):
    from helpers import evaluate
    from helpers.train import Profile
    monkeypatch.setattr(galaxy10, "mock_path", lambda n, seed: tmp_path / f"g10_{n}_{seed}.h5")
    prof = Profile("tiny", 40, 40, 16, 1e-3, 1, 1, "random-view", "none", (0,))
    recs = galaxy10.rebalancing_runs([3], prof, "torch", results_dir=tmp_path, progress=False)
    assert sorted(r["rebalancing"] for r in recs) == sorted(galaxy10.STRATEGIES)
    stored = evaluate.read_records(tmp_path / "galaxy10_rebalancing.json")
    assert len(stored) == 4 and all(r["mock_version"] == galaxy10.MOCK_VERSION and r["seed"] == 3 for r in stored)
    assert len({r["n_test"] for r in stored}) == 1 and all(r["optimiser_steps"] >= 1 for r in stored)
    assert stored[0]["classes"] == ["E", "S0", "Sp"]
    assert galaxy10.rebalancing_runs([3], prof, "torch", results_dir=tmp_path, progress=False) == []


def _run_record(ba, e, s0, sp=0.5, acc=0.8, irr=None, framework="keras"):
    per = {"E": {"recall": e}, "S0": {"recall": s0}, "Sp": {"recall": sp}}
    if irr is not None:
        per["Irr+Misc"] = {"recall": irr}
    return {"balanced_accuracy": ba, "accuracy": acc, "per_class": per, "train_seconds": 30.0, "epochs": 6,
            "framework": framework}


def test_rebalancing_answer_and_this_run_say_what_the_records_hold():
    rng = np.random.default_rng(1)
    recs = []
    for seed in range(6):
        base = rng.normal(0.7, 0.04)
        for k, strategy in enumerate(galaxy10.STRATEGIES):
            r = _rebalancing_record(strategy, seed, base + (0.05 if strategy == "undersample" else 0.0)
                                    + rng.normal(0, 0.005), 0.3)
            recs.append(r | {"framework": "keras", "mock_version": 2, "profile": "quick", "scheme": "better-3way",
                             "n_test": 279})
    text = galaxy10.rebalancing_answer(recs)
    assert "Over 6 paired seeds (0-5" in text and "| undersample | 6 |" in text
    assert re.search(r"undersample raises the balanced accuracy by [45]\.\d points \(\+4", text)
    assert "class-weights: balanced accuracy" in text and "show no difference" in text
    assert "No multi-seed comparison" in galaxy10.rebalancing_answer([])
    strategy = [_run_record(0.70 + 0.01 * k, 0.9, 0.30 + 0.01 * k, acc=0.77 + 0.01 * k) for k in range(4)]
    words = galaxy10.this_run(strategy, [_run_record(0.72, 0.85, 0.34), _run_record(0.68, 0.65, 0.72)],
                              [_run_record(0.64, 0.9, 0.66, irr=0.15)],
                              [_run_record(0.72, 0.85, 0.34), _run_record(0.78, 0.70, 0.64, framework="torch")], recs)
    assert "77%-80% accuracy" in words and "30%-33% of the lenticulars" in words
    assert "finds 65% of the ellipticals and 72% of the lenticulars" in words and "15% of them" in words
    assert "4.0 points apart, within twice the spread between seeds" in words
    assert "6.0 points apart, beyond twice" in words or "6.0 points apart, within twice" in words
    assert "one seed each, so no verdict" in galaxy10.this_run(strategy, [strategy[0], strategy[1]], [_run_record(
        0.6, 0.9, 0.6, irr=0.1)], [strategy[0], strategy[1]])


def test_mock_file_whose_bytes_changed_is_refused_then_rebuilt(tmp_path, monkeypatch, capsys):
    from corruption import overwrite_inside_dataset
    monkeypatch.setattr(galaxy10, "mock_path", lambda n, seed: tmp_path / f"g10_{n}_{seed}.h5")
    monkeypatch.setattr(galaxy10.os, "cpu_count", lambda: 1)  # rendered here, not in spawned workers
    path = galaxy10.ensure_mock(4, seed=2, progress=False)
    x, _, _ = galaxy10.read(path, expected_sha256=None)
    overwrite_inside_dataset(path, "images")
    with pytest.raises(galaxy10.Galaxy10FileError,
                       match=r"g10_4_2\.h5: dataset 'images' fails its Fletcher-32 checksum.*rebuilt on its next use"):
        galaxy10.read(path, expected_sha256=None)
    assert galaxy10.ensure_mock(4, seed=2, progress=False) == path
    out = capsys.readouterr().out
    assert "checksum" in out and "rebuilding" in out
    assert np.array_equal(galaxy10.read(path, expected_sha256=None)[0], x)
