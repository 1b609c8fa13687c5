"""The Keras networks: the same parameters as the PyTorch ones, shapes, determinism."""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers import galaxy10, models_keras, models_torch  # noqa: E402
from helpers.train import Profile  # noqa: E402


@pytest.mark.parametrize("size,channels", [(100, 1), (64, 3), (40, 3)])
@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("name", ["C1", "C2"])
@pytest.mark.parametrize("batch_norm", [True, False])
def test_same_parameter_count_as_pytorch(name, n_classes, size, channels, batch_norm):
    k = models_keras.build_model(name, n_classes, size, channels, batch_norm=batch_norm)
    t = models_torch.build_model(name, n_classes, size, batch_norm=batch_norm, channels=channels)
    assert models_keras.count_parameters(k) == models_torch.count_parameters(t)
    assert models_keras.flatten_size(k) == models_torch.flatten_size(t)


def test_c2_matches_the_paper_and_baselines_match_pytorch():
    assert models_keras.count_parameters(models_keras.build_model("C2", 4, 100, batch_norm=False)) == 2_393_412
    for name in ("AlexNet", "Dieleman"):
        k = models_keras.build_model(name, 3, 64, 3)
        assert models_keras.count_parameters(k) == models_torch.count_parameters(models_torch.build_model(name, 3, 64, channels=3))


def test_output_shape_and_layer_order():
    model = models_keras.build_model("C2", 3, 40, 3)
    out = model(np.zeros((2, 40, 40, 3), dtype=np.float32), training=False)
    assert tuple(out.shape) == (2, 3)
    kinds = [type(l).__name__ for l in model.layers]
    i = kinds.index("Conv2D")
    assert kinds[i:i + 3] == ["Conv2D", "BatchNormalization", "ReLU"] and not model.layers[i].use_bias


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown model"):
        models_keras.build_model("C3", 4)
    with pytest.raises(ValueError, match="cannot take 20x20"):
        models_keras.build_model("C2", 4, 20)


def _train_once(seed=0):
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(40, 69, 69, 3), dtype=np.uint8)
    labels = rng.integers(0, 3, 40)
    images[labels == 0, 25:45, 25:45, 2] = 255  # something to learn
    x = galaxy10.channels(images, "gri")
    prof = Profile("tiny", 40, 40, 8, 1e-3, 2, 2, "random-view", "balanced", (0,))
    models_keras.seed_everything(seed)
    model = models_keras.build_model("C2", 3, 40, 3)
    hist = models_keras.fit(model, galaxy10.batch, x[:32], labels[:32], x[32:], labels[32:], prof, seed)
    return model, hist


def test_two_seeded_trainings_give_identical_weights():
    a, ha = _train_once()
    b, hb = _train_once()
    assert ha.stopped_epoch == 2 and ha.val_loss == hb.val_loss
    assert all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))
    c, _ = _train_once(seed=1)
    assert not all(np.array_equal(u, v) for u, v in zip(a.get_weights(), c.get_weights()))
    p = models_keras.predict_proba(a, galaxy10.batch, galaxy10.channels(np.zeros((3, 69, 69, 3), np.uint8), "gri"), 40)
    assert p.shape == (3, 3) and np.allclose(p.sum(1), 1, atol=1e-5)
