"""Metrics on a hand-made confusion matrix, bootstrap intervals, predictions, results records."""
import json

import numpy as np
import pytest
import torch

from helpers import data
from helpers.evaluate import accuracy, bootstrap_ci, metrics, predict_proba, record, write_results
from helpers.models_torch import build_model
from helpers.train import PROFILES

CLASSES = ("E", "S0", "Sp")
# rows true, columns predicted:  E  S0 Sp
HAND = np.array([[8, 2, 0],     # E  (10)
                 [1, 3, 1],     # S0 (5)
                 [0, 0, 5]])    # Sp (5)


def labels_from(cm):
    y_true, y_pred = [], []
    for t in range(len(cm)):
        for p in range(len(cm)):
            y_true += [t] * cm[t, p]
            y_pred += [p] * cm[t, p]
    return np.array(y_true), np.array(y_pred)


def test_metrics_on_hand_made_confusion():
    m = metrics(*labels_from(HAND), CLASSES)
    assert m["confusion"] == HAND.tolist()
    assert m["accuracy"] == pytest.approx(16 / 20)
    recall = [0.8, 0.6, 1.0]
    precision = [8 / 9, 3 / 5, 5 / 6]
    f1 = [2 * p * r / (p + r) for p, r in zip(precision, recall)]
    assert m["balanced_accuracy"] == pytest.approx(np.mean(recall))
    assert m["macro_f1"] == pytest.approx(np.mean(f1))
    for i, c in enumerate(CLASSES):
        assert m["per_class"][c]["precision"] == pytest.approx(precision[i])
        assert m["per_class"][c]["recall"] == pytest.approx(recall[i])
        assert m["per_class"][c]["f1"] == pytest.approx(f1[i])
        assert m["per_class"][c]["support"] == HAND[i].sum()
    np.testing.assert_allclose(m["confusion_normalised"], HAND / HAND.sum(1, keepdims=True))
    # agrees with scikit-learn
    from sklearn.metrics import balanced_accuracy_score, f1_score
    assert m["macro_f1"] == pytest.approx(f1_score(*labels_from(HAND), average="macro"))
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(*labels_from(HAND)))


def test_metrics_class_without_support_gives_zeros_not_nan():
    y_true = np.array([0, 0, 1, 1])
    y_pred = np.array([0, 1, 1, 1])
    m = metrics(y_true, y_pred, ("E", "S0", "Sp", "Irr+Misc"))
    assert m["confusion_normalised"][2] == [0.0, 0.0, 0.0, 0.0]
    assert m["per_class"]["Irr+Misc"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["balanced_accuracy"] == pytest.approx(0.75)  # over E and S0, the classes present
    json.dumps(m, allow_nan=False)
    with pytest.raises(ValueError, match="outside"):
        metrics(y_true, y_pred + 3, CLASSES)


def test_bootstrap_contains_point_estimate():
    y_true, y_pred = labels_from(HAND * 10)
    lo, hi = bootstrap_ci(y_true, y_pred)
    assert lo < accuracy(y_true, y_pred) < hi
    assert 0.7 < lo and hi < 0.9
    assert bootstrap_ci(y_true, y_pred) == (lo, hi)  # seeded


def test_predict_proba_centre_and_tta():
    torch.manual_seed(0)
    model = build_model("C2", 3, input_size=50).eval()
    images = np.random.default_rng(0).normal(size=(5, data.STAMP, data.STAMP)).astype(np.float32)
    p = predict_proba(model, images, 50, batch=2)
    assert p.shape == (5, 3)
    np.testing.assert_allclose(p.sum(1), 1, rtol=1e-6)
    p_tta = predict_proba(model, images, 50, tta=True)
    assert p_tta.shape == (5, 3) and not np.allclose(p, p_tta)
    np.testing.assert_allclose(p_tta.sum(1), 1, rtol=1e-6)


def make_record(model="C2", seed=0, acc_hits=16, **extra):
    y_true, y_pred = labels_from(HAND)
    y_pred = y_pred.copy()
    y_pred[: 16 - acc_hits] = (y_pred[: 16 - acc_hits] + 1) % 3
    return record(model, "3way", "mock", PROFILES["smoke"], seed, y_true, y_pred, CLASSES,
                  n_train=100, epochs=np.int64(2), train_seconds=1.234, **extra)


def test_record_is_plain_json():
    r = make_record(best_epoch=np.int64(1))
    for k in ("model", "scheme", "dataset", "profile", "seed", "n_train", "n_test", "accuracy",
              "accuracy_ci95", "balanced_accuracy", "macro_f1", "per_class", "confusion", "classes",
              "epochs", "train_seconds"):
        assert k in r
    assert r["profile"] == "smoke" and r["n_test"] == 20 and r["classes"] == list(CLASSES)
    assert r["accuracy_ci95"][0] <= r["accuracy"] <= r["accuracy_ci95"][1]
    assert type(r["epochs"]) is int and type(r["best_epoch"]) is int
    assert json.loads(json.dumps(r, allow_nan=False)) == r


def test_write_results_replaces_by_key(tmp_path):
    path = write_results("pytorch", [make_record("C2", 1), make_record("C2", 0), make_record("C1", 0)], tmp_path)
    first = json.loads(path.read_text())
    assert [(r["model"], r["seed"]) for r in first] == [("C1", 0), ("C2", 0), ("C2", 1)]  # sorted
    write_results("pytorch", [make_record("C2", 0, acc_hits=10), make_record("C2", 10)], tmp_path)
    stored = json.loads(path.read_text())
    assert [(r["model"], r["seed"]) for r in stored] == [("C1", 0), ("C2", 0), ("C2", 1), ("C2", 10)]
    assert stored[1]["accuracy"] == pytest.approx(10 / 20)  # replaced
    assert stored[0] == first[0] and stored[2] == first[2]  # kept
    assert not list(tmp_path.glob("*.tmp"))
    # a run on another mock generator's set is another measurement: kept beside, replaced only by its own version
    write_results("pytorch", [dict(make_record("C2", 0), generator_version=4)], tmp_path)
    write_results("pytorch", [dict(make_record("C2", 0, acc_hits=12), generator_version=4)], tmp_path)
    versions = [(r["model"], r["seed"], r.get("generator_version")) for r in json.loads(path.read_text())]
    assert versions == [("C1", 0, None), ("C2", 0, 4), ("C2", 0, None), ("C2", 1, None), ("C2", 10, None)]
    path.write_text("{not json")
    with pytest.raises(ValueError, match="pytorch.json"):
        write_results("pytorch", [make_record()], tmp_path)
