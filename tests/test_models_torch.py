"""The networks: parameter counts against the paper, output shapes, the switches."""
import pytest
import torch

from helpers.models_torch import MODEL_NAMES, build_model, count_parameters, flatten_size


def test_c2_parameter_count_matches_paper():
    model = build_model("C2", 4, input_size=100, batch_norm=False)
    assert count_parameters(model) == 2_393_412
    assert flatten_size(model) == 8192


def test_c1_parameter_count():
    model = build_model("C1", 4, input_size=100, batch_norm=False)
    n = count_parameters(model)
    print(f"C1, 4-way, 100x100, no BN: {n:,} parameters")
    assert flatten_size(model) == 135_424
    assert n == 34_721_924  # "about 34.7 M" in the paper


@pytest.mark.parametrize("size", [100, 50])
@pytest.mark.parametrize("n_classes", [2, 3, 4])
@pytest.mark.parametrize("name", ["C1", "C2"])
def test_output_shapes(name, n_classes, size):
    model = build_model(name, n_classes, input_size=size).eval()
    with torch.no_grad():
        out = model(torch.randn(3, 1, size, size))
    assert out.shape == (3, n_classes)
    assert model.n_classes == n_classes and model.input_size == size


@pytest.mark.parametrize("name", ["AlexNet", "Dieleman"])
def test_baselines_build_at_both_sizes(name):
    for size in (100, 50):
        model = build_model(name, 3, input_size=size).eval()
        with torch.no_grad():
            assert model(torch.randn(2, 1, size, size)).shape == (2, 3)


def test_batch_norm_switch():
    with_bn = build_model("C2", 4, 50, batch_norm=True)
    without = build_model("C2", 4, 50, batch_norm=False)
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in with_bn.modules()) == 4
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in without.modules())
    # BN sits between each conv and its ReLU
    layers = list(with_bn.features)
    for i, m in enumerate(layers):
        if isinstance(m, torch.nn.Conv2d):
            assert isinstance(layers[i + 1], torch.nn.BatchNorm2d) and isinstance(layers[i + 2], torch.nn.ReLU)
            assert m.bias is None


def test_construction_leaves_bn_statistics_untouched():
    model = build_model("C2", 4, 50)
    bn = next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert model.training
    assert int(bn.num_batches_tracked) == 0 and torch.all(bn.running_mean == 0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown model"):
        build_model("C3", 4)
    with pytest.raises(ValueError, match="cannot take 20x20"):
        build_model("C2", 4, input_size=20)
    assert set(MODEL_NAMES) == {"C1", "C2", "AlexNet", "Dieleman"}
