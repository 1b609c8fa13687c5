"""Binary schemes, balancing, trees and one-vs-one voting on hand-made labels and probabilities."""
from dataclasses import replace

import numpy as np
import pytest

from helpers import data, hierarchy as h
from helpers.classes import CLASS_INDEX, CLASSES, CLASSES_3WAY
from helpers.train import PROFILES

E, S0, SP, IRR = range(4)


def test_schemes_are_canonical_and_parsed():
    assert h.PAIRS == ("E-vs-S0", "E-vs-Sp", "E-vs-Irr+Misc", "S0-vs-Sp", "S0-vs-Irr+Misc", "Sp-vs-Irr+Misc")
    assert h.sides("E|S0-vs-Sp|Irr+Misc") == (("E", "S0"), ("Sp", "Irr+Misc"))
    assert h.binary_scheme(["Sp"], ["S0", "E"]) == "E|S0-vs-Sp"
    assert h.binary_scheme(["Irr+Misc"], ["Sp", "E", "S0"]) == "E|S0|Sp-vs-Irr+Misc"
    with pytest.raises(ValueError, match="canonical"):
        h.sides("Sp-vs-E")
    with pytest.raises(ValueError, match="unknown classes"):
        h.sides("E-vs-Irr")
    with pytest.raises(ValueError, match="disjoint"):
        h.binary_scheme(["E"], ["E", "S0"])
    assert h.slug("E|S0-vs-Sp|Irr+Misc") == "E_S0-vs-Sp_IrrMisc"


def test_binary_labels_keep_only_the_two_sides():
    labels = np.array([E, S0, SP, IRR, SP, E])
    mask, y = h.binary_labels(labels, "E-vs-Sp")
    assert mask.tolist() == [True, False, True, False, True, True]
    assert y.tolist() == [0, 1, 1, 0]
    mask, y = h.binary_labels(labels, "E|S0|Sp-vs-Irr+Misc")
    assert mask.all() and y.tolist() == [0, 0, 0, 1, 0, 0]


def test_balancing_gives_equal_counts_from_training_galaxies_only():
    rng = np.random.default_rng(3)
    labels = rng.choice(4, size=2000, p=[0.19, 0.23, 0.55, 0.03])
    split = data.split_by_galaxy(labels, seed=0)
    for scheme in h.all_networks():
        idx, y = h.select(labels, split, scheme, "train", balance=True, seed=1)
        counts = np.bincount(y, minlength=2)
        assert counts[0] == counts[1], scheme
        assert np.all(split[idx] == 0), scheme                      # training galaxies only
        plain, y_plain = h.select(labels, split, scheme, "train")
        assert set(idx) == set(plain)                                # every training galaxy, no other
        assert counts[0] == np.bincount(y_plain).max()               # the larger side is not repeated
        mask, _ = h.binary_labels(labels, scheme)
        assert np.all(mask[idx])
        # the smaller side's galaxies are repeated evenly (at most one more time than each other)
        reps = np.bincount(idx, minlength=len(labels))[plain[y_plain == np.argmin(np.bincount(y_plain))]]
        assert reps.max() - reps.min() <= 1
    a, _ = h.select(labels, split, "Sp-vs-Irr+Misc", "train", balance=True, seed=1)
    b, _ = h.select(labels, split, "Sp-vs-Irr+Misc", "train", balance=True, seed=1)
    assert np.array_equal(a, b)  # seeded
    val_idx, _ = h.select(labels, split, "Sp-vs-Irr+Misc", "val")
    assert np.all(split[val_idx] == 1) and len(np.unique(val_idx)) == len(val_idx)  # unbalanced unless asked
    with pytest.raises(ValueError, match="both labels"):
        h.balanced_indices(np.zeros(5, dtype=int))


def test_minimum_epoch_size_repeats_both_sides_evenly():
    y = np.array([0] * 10 + [1] * 3)
    idx = h.balanced_indices(y, seed=0, min_per_side=25)
    assert np.bincount(y[idx]).tolist() == [25, 25]
    reps = np.bincount(idx, minlength=len(y))
    assert set(reps[:10]) == {2, 3} and set(reps[10:]) == {8, 9}
    assert np.bincount(y[h.balanced_indices(y, 0, min_per_side=4)]).tolist() == [10, 10]  # no effect below n_large
    labels = np.array([E] * 6 + [S0] * 5 + [SP] * 8 + [IRR] * 4)
    split = np.array([0, 0, 0, 0, 1, 2] * 3 + [0, 0, 1, 2, 0])
    assert h.min_per_side(labels, split) == (int(np.sum((split == 0) & (labels != IRR))) + 1) // 2


def test_restore_priors_is_bayes():
    p = np.array([0.5, 0.9, 0.1])
    out = h.restore_priors(p, (0.75, 0.25))
    assert out[0] == pytest.approx(0.25)           # an undecided network answers the prior
    assert out[1] == pytest.approx(0.9 * 0.25 / (0.9 * 0.25 + 0.1 * 0.75))
    np.testing.assert_allclose(h.restore_priors(p, (0.5, 0.5)), p)


def test_trees_are_consistent():
    for scheme, classes in (("3way", CLASSES_3WAY), ("4way", CLASSES)):
        assert len(h.TREES[scheme]) >= 2
        for tree in h.TREES[scheme].values():
            assert h.leaves(tree) == classes
    with pytest.raises(ValueError, match="same classes"):
        h.Node("E-vs-S0|Sp", "E", h.Node("S0-vs-Irr+Misc", "S0", "Irr+Misc"))
    assert h.networks(h.TREES["4way"]["Irr-first"]) == ("E|S0|Sp-vs-Irr+Misc", "E|S0-vs-Sp", "E-vs-S0")
    assert set(h.all_networks()) >= set(h.PAIRS) and len(set(h.all_networks())) == len(h.all_networks())


def test_tree_on_hand_made_probabilities():
    tree = h.TREES["4way"]["early-late"]  # E|S0-vs-Sp|Irr+Misc -> E-vs-S0, Sp-vs-Irr+Misc
    p = {"E|S0-vs-Sp|Irr+Misc": np.array([0.1, 0.2, 0.9, 0.8, 0.5]),
         "E-vs-S0": np.array([0.3, 0.7, 0.9, 0.9, 0.2]),
         "Sp-vs-Irr+Misc": np.array([0.9, 0.9, 0.2, 0.6, 0.9])}
    pred = h.tree_predict(tree, p, CLASSES)
    assert [CLASSES[i] for i in pred] == ["E", "S0", "Sp", "Irr+Misc", "E"]  # 0.5 is not > 0.5: side A
    proba = h.tree_proba(tree, p, CLASSES)
    np.testing.assert_allclose(proba.sum(1), 1)
    assert proba[0] == pytest.approx([0.9 * 0.7, 0.9 * 0.3, 0.1 * 0.1, 0.1 * 0.9])
    # the soft product can disagree with the hard path: unsure root, confident second level
    q = {"E|S0-vs-Sp": np.array([0.45]), "E-vs-S0": np.array([0.5])}
    tree3 = h.TREES["3way"]["early-late"]
    assert h.tree_predict(tree3, q, CLASSES_3WAY).tolist() == [CLASS_INDEX["E"]]
    assert h.tree_proba(tree3, q, CLASSES_3WAY).argmax(1).tolist() == [CLASS_INDEX["Sp"]]
    with pytest.raises(ValueError, match="answers"):
        h.tree_predict(tree, p, CLASSES_3WAY)


def test_ovo_voting_and_deterministic_ties():
    classes = CLASSES_3WAY
    # galaxy 0: clear E; 1: a cycle E>S0, S0>Sp, Sp>E, all equally sure -> tie on votes and scores -> E (first)
    # 2: cycle with different confidences -> the class with the larger summed probability
    p = {"E-vs-S0": np.array([0.1, 0.4, 0.45]),     # p(S0)
         "E-vs-Sp": np.array([0.2, 0.6, 0.9]),      # p(Sp)
         "S0-vs-Sp": np.array([0.5, 0.4, 0.45])}    # p(Sp)
    votes, score = h.ovo_votes(p, classes)
    assert votes[0].tolist() == [2, 1, 0]           # 0.5 counts for side A, as in the trees
    assert votes[1].tolist() == [1, 1, 1] and votes[2].tolist() == [1, 1, 1]
    np.testing.assert_allclose(score.sum(1), 3)     # one unit of probability per pair
    pred = h.ovo_predict(p, classes)
    assert pred[0] == 0 and pred[1] == 0
    assert pred[2] == 2                              # Sp: 0.9 + 0.45 = 1.35 beats E 0.65 and S0 1.0
    assert np.array_equal(pred, h.ovo_predict(p, classes))
    # 4-way voting needs all six pairs
    p4 = {s: np.array([0.9]) for s in h.PAIRS}      # side B always wins: the later class wins every pair
    assert h.ovo_predict(p4, CLASSES).tolist() == [CLASSES.index("Irr+Misc")]


def test_pairwise_matrix_is_symmetric_with_blank_diagonal():
    m = h.pairwise_matrix({"E-vs-Sp": 0.99, "Sp-vs-Irr+Misc": 0.78, "E|S0-vs-Sp": 0.9})
    assert m[0, 2] == m[2, 0] == 0.99 and m[2, 3] == m[3, 2] == 0.78
    assert np.isnan(np.diag(m)).all() and np.isnan(m[0, 1])


def test_checkpoint_names(tmp_path):
    quick = PROFILES["quick"]
    assert h.checkpoint_path(tmp_path, "mock", quick, "3way", 0).name == "mock_quick_C2_3way_seed0.pt"
    short = replace(quick, max_epochs=6)
    assert h.checkpoint_path(tmp_path, "mock", short, "E|S0-vs-Sp", 1).name == "mock_quick_C2_E_S0-vs-Sp_max6ep_seed1.pt"


def test_train_binary_smoke():
    """A binary C2 on a tiny fake set: balanced training, two outputs, probabilities per galaxy."""
    from helpers import evaluate
    rng = np.random.default_rng(0)
    labels = np.repeat([E, S0, SP, IRR], [12, 12, 30, 6])
    images = rng.normal(size=(len(labels), data.STAMP, data.STAMP)).astype(np.float32)
    images[labels == SP, 40:70, 40:70] += 2.0
    split = data.split_by_galaxy(labels, test_frac=0.2, val_frac=0.2, seed=0)
    prof = replace(PROFILES["smoke"], max_epochs=1, batch_size=16)
    fit = h.train_binary("Sp-vs-Irr+Misc", images, labels, split, prof, seed=0, min_per_side=40)
    assert fit.model.n_classes == 2 and fit.history.stopped_epoch == 1
    assert fit.n_train == int(np.sum((split == 0) & np.isin(labels, [SP, IRR])))
    assert fit.n_train_balanced == 2 * max(40, int(np.sum((split == 0) & (labels == SP))))
    p = evaluate.predict_proba(fit.model, images[:5], prof.input_size)
    assert p.shape == (5, 2)


def test_combined_predictions_names_and_networks():
    rng = np.random.default_rng(0)
    p = {s: rng.uniform(size=7) for s in h.all_networks()}
    out = h.combined_predictions("4way", p)
    assert set(out) == {"hierarchical-early-late", "hierarchical-Irr-first", "ovo-voting"}
    pred, nets, soft = out["ovo-voting"]
    assert nets == h.PAIRS and soft is None and pred.shape == (7,)
    pred, nets, soft = out["hierarchical-Irr-first"]
    assert nets == h.networks(h.TREES["4way"]["Irr-first"]) and set(pred) <= {0, 1, 2, 3}
    assert set(h.combined_predictions("3way", p)["ovo-voting"][1]) == {"E-vs-S0", "E-vs-Sp", "S0-vs-Sp"}
    priors = h.with_priors({"E-vs-Sp": np.array([0.5])}, np.repeat([E, SP], [10, 30]), np.zeros(40, dtype=int))
    assert priors["E-vs-Sp"][0] == pytest.approx(0.75)


def test_balanced_accuracy_interval():
    cm = np.array([[90, 10], [2, 8]])
    lo, hi = h.balanced_accuracy_ci(cm)
    assert lo < (0.9 + 0.8) / 2 < hi and hi - lo > 0.1   # ten galaxies of the small class: wide
    assert h.balanced_accuracy_ci(cm) == (lo, hi)
