import numpy as np
import pytest

from helpers.classes import (CLASSES, NA10_TTYPES, PAPER_COUNTS, PAPER_N, relabel, scheme_classes,
                             stratified_counts, ttype_to_class, ttypes_to_labels)

EXPECTED = {-5: "E", -3: "S0", -2: "S0", -1: "S0", 0: "S0", **{t: "Sp" for t in range(1, 10)},
            10: "Irr+Misc", 11: "Irr+Misc", 12: "Irr+Misc", 99: "Irr+Misc"}


def test_every_catalogue_ttype_is_mapped():
    assert set(EXPECTED) == set(NA10_TTYPES)
    for t, cls in EXPECTED.items():
        assert ttype_to_class(t) == cls


@pytest.mark.parametrize("bad", [-4, -6, 13, 50, 2.5, 100])
def test_unknown_ttype_raises_naming_the_value(bad):
    with pytest.raises(ValueError, match=str(bad)):
        ttype_to_class(bad)


def test_labels_follow_the_fixed_class_order():
    assert CLASSES == ("E", "S0", "Sp", "Irr+Misc")
    assert ttypes_to_labels([-5, -2, 4, 99]).tolist() == [0, 1, 2, 3]


def test_stratified_counts_exact_at_paper_n_and_proportional_below():
    assert stratified_counts(PAPER_N) == PAPER_COUNTS
    small = stratified_counts(600)
    assert sum(small.values()) == 600
    for c in CLASSES:
        assert abs(small[c] - 600 * PAPER_COUNTS[c] / PAPER_N) < 1


def test_relabel_schemes():
    labels = np.array([0, 1, 2, 3, 2, 0])
    mask, y = relabel(labels, "3way")
    assert mask.tolist() == [True, True, True, False, True, True] and y.tolist() == [0, 1, 2, 2, 0]
    mask, y = relabel(labels, "Sp-vs-Irr+Misc")
    assert y.tolist() == [0, 1, 0]
    assert scheme_classes("E-vs-S0") == ("E", "S0")
    with pytest.raises(ValueError, match="E-vs-Foo"):
        scheme_classes("E-vs-Foo")


def test_boundary_distance_on_the_catalogue_axis():
    from helpers.classes import boundary_distance
    d = boundary_distance([-5, -3, -2, -1, 0, 1, 5, 9, 10, 99])
    np.testing.assert_allclose(d[:-1], [1, 1, 2, 1.5, 0.5, 0.5, 4.5, 0.5, 0.5])
    assert np.isnan(d[-1])   # peculiar: off the axis
