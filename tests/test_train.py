"""The training engine: profiles, batches, determinism, early stopping, checkpoint resume."""
import shutil
import struct
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from corruption import overwrite_bytes

from helpers import data, train
from helpers.models_torch import build_model
from helpers.train import PROFILES, Profile, bin_image, epoch_plan, fit, make_batch, profile, seed_everything

TINY = Profile("tiny", 64, 50, 32, 1e-3, 2, 2, "random-view", "none", (0,))


@pytest.fixture(scope="module")
def tiny_data():
    rng = np.random.default_rng(1)
    images = rng.normal(size=(64, data.STAMP, data.STAMP)).astype(np.float32)
    labels = rng.integers(0, 3, 64)
    images[labels == 0, 40:70, 40:70] += 2.0  # something to learn
    return images[:48], labels[:48], images[48:], labels[48:]


def train_once(tiny_data, prof=TINY, seed=0, **kw):
    seed_everything(seed)
    model = build_model("C2", 3, input_size=prof.input_size)
    history = fit(model, *tiny_data, prof, seed, progress=False, **kw)
    return model, history


def same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_profiles(monkeypatch):
    assert profile("smoke").input_size == 50 and profile("paper").batch_size == 400
    assert PROFILES["paper"].lr == 2e-4 and PROFILES["paper"].max_epochs == 100
    assert PROFILES["paper"].augment == "all-views" and PROFILES["paper"].seeds == (0, 1, 2)
    assert PROFILES["quick"].input_size == 50 and PROFILES["paper"].input_size == 100
    monkeypatch.delenv("PROFILE", raising=False)
    assert profile().name == "quick"
    monkeypatch.setenv("PROFILE", "smoke")
    assert profile().name == "smoke"
    monkeypatch.setenv("PROFILE", "fast")
    with pytest.raises(ValueError, match="unknown profile 'fast' .from the environment variable PROFILE"):
        profile()
    with pytest.raises(ValueError, match="from the argument"):
        profile("fast")


def test_make_batch_shapes_and_centre_view():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(10, data.STAMP, data.STAMP)).astype(np.float32)
    idx, views = np.array([3, 1, 7]), np.array([0, data.CENTRE_VIEW, 39])
    x100 = make_batch(images, idx, views, 100)
    x50 = make_batch(images, idx, views, 50)
    assert x100.shape == (3, 1, 100, 100) and x100.dtype == torch.float32
    assert x50.shape == (3, 1, 50, 50)
    assert data.CENTRE_VIEW == 32
    centre = images[1, 5:105, 5:105]
    np.testing.assert_array_equal(x100[1, 0].numpy(), centre)
    np.testing.assert_allclose(x50[1, 0].numpy(), centre.reshape(50, 2, 50, 2).mean(axis=(1, 3)), rtol=1e-6, atol=1e-6)
    assert make_batch(images, idx, data.CENTRE_VIEW, 100).shape == (3, 1, 100, 100)  # one view for all
    with pytest.raises(ValueError, match="divide"):
        make_batch(images, idx, views, 30)


def test_make_batch_from_a_tensor_matches_numpy():
    """The GPU path (stamps resident as a tensor, views cut by one gather) gives the numpy pixels."""
    rng = np.random.default_rng(2)
    images = rng.normal(size=(12, data.STAMP, data.STAMP)).astype(np.float32)
    idx, views = rng.integers(0, 12, 40), np.arange(40)
    for size in (100, 50):
        expected = make_batch(images, idx, views, size)
        got = make_batch(torch.from_numpy(images), torch.from_numpy(idx), torch.from_numpy(views), size)
        torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6)
    one_view = make_batch(torch.from_numpy(images), idx[:3], data.CENTRE_VIEW, 100)
    np.testing.assert_array_equal(one_view.numpy(), make_batch(images, idx[:3], data.CENTRE_VIEW, 100).numpy())
    with pytest.raises(ValueError, match="divide"):
        make_batch(torch.from_numpy(images), idx, views, 30)


def test_bin_image_is_avg_pool_bit_for_bit():
    """The engine's binning gives avg_pool2d's float32 values exactly (the pixels, and so every
    trained network, are those of the earlier engine)."""
    x = torch.from_numpy(np.random.default_rng(3).normal(0, 3, (8, 1, 100, 100)).astype(np.float32))
    for size in (50, 25, 20, 10):
        assert torch.equal(bin_image(x, size), torch.nn.functional.avg_pool2d(x, 100 // size))
    assert bin_image(x, 100) is x


def test_time_budget_stops_and_says_so(tiny_data, tmp_path):
    ckpt = tmp_path / "budget.pt"
    _, h = train_once(tiny_data, max_seconds=0.0, checkpoint_path=ckpt)
    assert h.stopped_epoch == 1 and h.stop_reason == "time budget"
    assert not torch.load(ckpt, weights_only=True)["done"]  # a later call resumes it
    _, h = train_once(tiny_data, checkpoint_path=ckpt)
    assert h.stopped_epoch == TINY.max_epochs == 2 and h.stop_reason == "max epochs"


def test_epoch_plan():
    g, v = epoch_plan(5, "random-view", 0, 0)
    assert sorted(g) == list(range(5)) and v.min() >= 0 and v.max() < 40
    g, v = epoch_plan(5, "all-views", 0, 0)
    assert len(g) == 200 and len(set(zip(g.tolist(), v.tolist()))) == 200  # every (galaxy, view) once
    assert not np.array_equal(epoch_plan(50, "random-view", 0, 0)[0], epoch_plan(50, "random-view", 0, 1)[0])


@pytest.fixture(params=["float32", "bfloat16"])
def precision(request, monkeypatch):
    """Both precisions the CPU may train in (``PRECISION``): each must be reproducible."""
    monkeypatch.setenv("PRECISION", request.param)
    return request.param


@pytest.fixture(scope="module")
def straight_runs():
    return {}


@pytest.fixture
def straight(tiny_data, precision, straight_runs, tmp_path_factory):
    """(model, history, finished checkpoint) of the straight TINY run of seed 0 in this precision: trained
    once per precision and shared by the tests that compare with it. They must not change it (a test
    that writes to the checkpoint copies it first)."""
    if precision not in straight_runs:
        ck = tmp_path_factory.mktemp(f"straight_{precision}") / "straight.pt"
        straight_runs[precision] = (*train_once(tiny_data, checkpoint_path=ck), ck)
    return straight_runs[precision]


def copy_of(path, folder):
    return Path(shutil.copy(path, folder / path.name))


def test_precision_choice(monkeypatch):
    cpu = torch.device("cpu")
    for choice, expected in (("float32", False), ("bfloat16", True)):
        monkeypatch.setenv("PRECISION", choice)
        assert train.bfloat16_enabled(cpu) is expected and train.autocast(cpu).fast_dtype == torch.bfloat16
        with train.autocast(cpu):
            out = torch.ones(2, 2) @ torch.ones(2, 2)
        assert out.dtype == (torch.bfloat16 if expected else torch.float32)
        assert train.device_name(cpu).endswith(f"threads, {choice}")   # the records say which
    monkeypatch.setenv("PRECISION", "auto")
    native = torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()
    assert train.bfloat16_enabled(cpu) is native
    monkeypatch.setenv("PRECISION", "half")
    with pytest.raises(ValueError, match="PRECISION"):
        train.bfloat16_enabled(cpu)


def test_freed_memory_is_kept():
    """Once the heap has grown, allocating a large tensor again costs (almost) no page faults: by
    default glibc would map and unmap it every time, 16384 faults for 64 MB."""
    import resource
    assert train.keep_freed_memory() and train.keep_freed_memory()  # idempotent
    faults = []
    for _ in range(8):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        torch.empty(64 << 20, dtype=torch.uint8).fill_(1)  # freed at once
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    assert max(faults[-3:]) < 1000, faults


def test_same_seed_same_weights(tiny_data, straight):
    a, ha, _ = straight
    b, hb = train_once(tiny_data)
    assert same_weights(a, b)
    assert ha.train_loss == hb.train_loss and ha.val_loss == hb.val_loss
    assert len(ha.train_loss) == ha.stopped_epoch == 2 and 1 <= ha.best_epoch <= 2
    assert ha.train_seconds > 0 and len(ha.epoch_seconds) == 2


def test_resume_equals_straight_run(tiny_data, tmp_path, straight):
    straight, h_straight, straight_ck = straight
    ck = tmp_path / "ck.pt"

    def interrupt(epoch, history):
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_once(tiny_data, checkpoint_path=ck, on_epoch_end=interrupt)
    assert torch.load(ck, weights_only=True)["epoch"] == 1 and not ck.with_name("ck.pt.tmp").exists()
    resumed, h_resumed = train_once(tiny_data, checkpoint_path=ck)
    assert same_weights(straight, resumed)  # the best epoch's weights
    last = [torch.load(p, weights_only=True)["model"] for p in (straight_ck, ck)]  # the last epoch's
    assert all(torch.equal(last[0][k], last[1][k]) for k in last[0])
    assert h_resumed.train_loss == h_straight.train_loss and h_resumed.val_loss == h_straight.val_loss
    assert h_resumed.best_epoch == h_straight.best_epoch and h_resumed.stopped_epoch == 2
    # a finished checkpoint just gives back the best weights
    again, h_again = train_once(tiny_data, checkpoint_path=ck)
    assert same_weights(again, resumed) and h_again.stopped_epoch == 2
    with pytest.raises(ValueError, match="delete it"):
        train_once(tiny_data, seed=1, checkpoint_path=ck)


def test_early_stopping_restores_best():
    # lr 0, on stamps that look the same in every view and in one batch (so the recomputed batch-norm
    # statistics do not change either): the validation loss never falls below epoch 1's, and
    # training stops after `patience` more
    prof = replace(TINY, lr=0.0, max_epochs=5, patience=1, batch_size=64)  # one batch: the same statistics
    images, labels = constant_stamps(64), np.tile([0, 1, 2, 0], 16)
    model, h = train_once((images[:48], labels[:48], images[48:], labels[48:]), prof)
    assert h.best_epoch == 1 and h.stopped_epoch == 2 and len(h.val_loss) == 2


def test_all_views_and_balanced_weights(tiny_data):
    images, _, val_images, val_labels = tiny_data
    prof = replace(TINY, augment="all-views", class_weights="balanced", max_epochs=1, batch_size=64)
    # 6 galaxies x 40 views = 240 samples in the epoch
    model, h = train_once((images[:6], np.array([0, 1, 2, 0, 0, 0]), val_images, val_labels), prof)
    assert len(h.train_loss) == 1 and np.isfinite(h.val_loss[0])
    with pytest.raises(ValueError, match="every class"):
        train_once((images[:4], np.array([0, 0, 1, 1]), val_images, val_labels), prof)


def test_unreadable_checkpoint_is_named(tiny_data, tmp_path):
    ck = tmp_path / "broken.pt"
    ck.write_bytes(b"truncated")
    with pytest.raises(ValueError, match="broken.pt"):
        train_once(tiny_data, checkpoint_path=ck)


def zip_record_span(path, record) -> tuple[int, int]:
    """(first byte, length) of a zip record's stored data: after its local header, whose extra field
    (torch pads it to align the tensors) may differ from the central directory's."""
    with open(path, "rb") as f:
        f.seek(record.header_offset)
        name_len, extra_len = struct.unpack("<HH", f.read(30)[26:30])
    return record.header_offset + 30 + name_len + extra_len, record.compress_size


def all_tensors(obj) -> list:
    if isinstance(obj, torch.Tensor):
        return [obj]
    items = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, (list, tuple)) else ()
    return [t for v in items for t in all_tensors(v)]


@pytest.mark.parametrize("precision", ["float32"], indirect=True)  # either; one is enough
def test_checkpoint_whose_bytes_changed_is_refused_not_loaded_as_other_weights(tiny_data, tmp_path, straight):
    ck = copy_of(straight[2], tmp_path)
    before = torch.load(ck, weights_only=True)
    with zipfile.ZipFile(ck) as archive:   # the largest record holds a weight tensor
        record = max(archive.infolist(), key=lambda r: r.file_size)
    overwrite_bytes(ck, *zip_record_span(ck, record))
    after = torch.load(ck, weights_only=True)   # torch alone reads it, as other weights
    assert any(not torch.equal(u, v) for u, v in zip(all_tensors(before), all_tensors(after)))
    with pytest.raises(ValueError, match=r"straight\.pt: not a readable checkpoint \(the CRC-32 of its record .* does not "
                                         r"match.*delete it to start afresh"):
        train_once(tiny_data, checkpoint_path=ck)


@pytest.mark.parametrize("precision", ["float32"], indirect=True)  # either; one is enough
def test_checkpoint_of_other_data_is_not_resumed(tiny_data, tmp_path, capsys, straight):
    first, _, finished = straight
    ck = copy_of(finished, tmp_path)
    images, labels, val_images, val_labels = tiny_data
    changed = (images + 1.0, labels, val_images, val_labels)  # e.g. a regenerated mock set
    fresh, _ = train_once(changed, checkpoint_path=ck)
    assert "training afresh" in capsys.readouterr().out
    straight, _ = train_once(changed)
    assert same_weights(fresh, straight) and not same_weights(fresh, first)


def constant_stamps(n: int) -> np.ndarray:
    """Stamps of one value each: the same in all 40 views, so a layer's batch statistics are known."""
    return np.repeat(np.linspace(-1, 1, n, dtype=np.float32), data.STAMP ** 2).reshape(n, data.STAMP, data.STAMP)


def first_layer_statistics(model, images):
    with torch.no_grad():
        z = model.features[0](make_batch(images, np.arange(len(images)), data.CENTRE_VIEW, 50))
    return z.mean(dim=(0, 2, 3)), z.var(dim=(0, 2, 3), unbiased=True)


def test_recalibrate_batchnorm_gives_exact_batch_statistics(monkeypatch):
    monkeypatch.setenv("PRECISION", "float32")  # compared with float32 statistics below
    torch.manual_seed(0)
    model = build_model("C2", 2, input_size=50)
    images = constant_stamps(8)
    bn = model.features[1]
    bn.running_mean.fill_(5.0)
    train.recalibrate_batchnorm(model, images, np.arange(8), 50, 8, np.random.default_rng(0))
    assert not model.training and bn.momentum == 0.1
    mean, var = first_layer_statistics(model, images)
    torch.testing.assert_close(bn.running_mean, mean, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(bn.running_var, var, rtol=1e-3, atol=1e-4)
    first = {k: v.clone() for k, v in model.state_dict().items()}
    train.recalibrate_batchnorm(model, images, np.arange(8), 50, 8, np.random.default_rng(0))  # idempotent
    assert all(torch.equal(first[k], v) for k, v in model.state_dict().items())


def test_fit_keeps_statistics_of_the_kept_weights(monkeypatch):
    """The weights fit returns carry batch-norm statistics recomputed with them, not a lagging average."""
    monkeypatch.setenv("PRECISION", "float32")
    images, labels = constant_stamps(48), np.tile([0, 1, 2], 16)
    model, _ = train_once((images[:32], labels[:32], images[32:], labels[32:]), replace(TINY, batch_size=32))
    mean, var = first_layer_statistics(model, images[:32])  # all 32 training galaxies, one batch
    torch.testing.assert_close(model.features[1].running_mean, mean, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(model.features[1].running_var, var, rtol=1e-3, atol=1e-4)
