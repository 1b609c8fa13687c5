import h5py
import numpy as np
import pytest
from corruption import overwrite_inside_dataset, rewrite_without_checksums

from helpers import data
from helpers.classes import CLASSES


def stamp(seed=0):
    return np.random.default_rng(seed).normal(size=(data.STAMP, data.STAMP)).astype(np.float32)


def test_forty_views_are_exactly_the_crops_rotations_and_mirrors():
    img = stamp()
    expected = []
    for y, x in data.CROP_OFFSETS:
        crop = img[y:y + 100, x:x + 100]
        for k in range(4):
            r = np.rot90(crop, k)
            expected += [r, r[:, ::-1]]
    views = [data.view(img, v) for v in range(data.N_VIEWS)]
    assert len(views) == 40
    for v, e in zip(views, expected):
        assert v.shape == (100, 100) and np.array_equal(v, e)
    flat = {v.tobytes() for v in views}
    assert len(flat) == 40, "views must be distinct"
    assert np.array_equal(data.view(img, data.CENTRE_VIEW), img[5:105, 5:105])


def test_views_batch_matches_single_views():
    imgs = np.stack([stamp(i) for i in range(6)])
    vs = np.array([0, 7, 32, 39, 7, 15])
    idx = np.array([5, 0, 2, 2, 1, 3])
    out = data.views_batch(imgs, idx, vs)
    assert out.shape == (6, 100, 100) and out.flags.c_contiguous
    for k, (i, v) in enumerate(zip(idx, vs)):
        assert np.array_equal(out[k], data.view(imgs[i], v))
    assert np.array_equal(data.views_batch(imgs, idx, data.CENTRE_VIEW), imgs[idx, 5:105, 5:105])
    with pytest.raises(ValueError, match="40"):
        data.view(imgs[0], 40)


def test_split_by_galaxy_is_stratified_and_disjoint():
    labels = np.repeat([0, 1, 2, 3], [272, 321, 770, 39])
    split = data.split_by_galaxy(labels, seed=3)
    ids = np.arange(len(labels))
    data.check_no_leakage(ids, split)
    assert abs(np.mean(split == 2) - 0.15) < 0.01
    assert abs(np.sum(split == 1) / np.sum(split != 2) - 0.15) < 0.01
    for c in range(4):
        frac = np.mean(split[labels == c] == 2)
        assert abs(frac - 0.15) < 0.03, (c, frac)
    assert np.array_equal(split, data.split_by_galaxy(labels, seed=3))


def test_leakage_is_detected():
    with pytest.raises(AssertionError, match="train and test"):
        data.check_no_leakage([1, 2, 2], [0, 0, 2])


def meta(n):
    return np.zeros(n, dtype=[("z", "f4"), ("ttype", "i2")])


def test_hdf5_round_trip(tmp_path):
    n = 12
    imgs = np.stack([stamp(i) for i in range(n)])
    labels = np.arange(n) % 4
    split = np.arange(n) % 3
    path = data.save(tmp_path / "set.h5", imgs, labels, np.arange(100, 100 + n), split, meta(n), source="test")
    s = data.load(path)
    assert np.array_equal(s.images, imgs) and s.images.dtype == np.float32
    assert s.labels.tolist() == labels.tolist() and s.galaxy_id[0] == 100
    assert s.attrs["source"] == "test" and list(s.attrs["classes"]) == list(CLASSES)
    assert len(s.part("test")) == 4
    assert not list(tmp_path.glob("*.tmp"))


def test_wrong_shape_raises_and_leaves_no_file(tmp_path):
    with pytest.raises(ValueError, match=r"bad\.h5.*\(N, 110, 110\)"):
        data.save(tmp_path / "bad.h5", np.zeros((3, 100, 100)), [0, 1, 2], [1, 2, 3], [0, 0, 2], meta(3))
    assert list(tmp_path.iterdir()) == []


def test_non_finite_pixels_are_refused(tmp_path):
    imgs = np.zeros((3, 110, 110))
    imgs[1, 5, 5] = np.nan  # a NaN stamp would turn every training loss into NaN
    with pytest.raises(ValueError, match=r"nan\.h5: 1 images hold NaN .*\[1\]"):
        data.save(tmp_path / "nan.h5", imgs, [0, 1, 2], [1, 2, 3], [0, 0, 2], meta(3))
    assert list(tmp_path.iterdir()) == []


def test_failure_midway_leaves_no_partial_file(tmp_path):
    bad_meta = np.array([object(), object()])  # h5py cannot store it: fails after the file was opened
    with pytest.raises(TypeError):
        data.save(tmp_path / "x.h5", np.zeros((2, 110, 110)), [0, 1], [1, 2], [0, 2], bad_meta)
    assert list(tmp_path.iterdir()) == []


def test_missing_and_truncated_files_name_the_file(tmp_path):
    with pytest.raises(data.DataFileError, match="nope.h5.*no such data file"):
        data.load(tmp_path / "nope.h5")
    n = 8
    path = data.save(tmp_path / "full.h5", np.stack([stamp(i) for i in range(n)]), np.arange(n) % 4,
                     np.arange(n), np.zeros(n), meta(n))
    raw = path.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(data.DataFileError, match="cut.h5"):
        data.load(cut)
    junk = tmp_path / "junk.h5"
    junk.write_text("not hdf5")
    with pytest.raises(data.DataFileError, match="junk.h5"):
        data.load(junk)


def test_normalise_subtracts_sky_and_stretches():
    rng = np.random.default_rng(1)
    imgs = rng.normal(10.0, 2.0, size=(3, 110, 110)).astype(np.float32)
    imgs[:, 50:60, 50:60] += 1000
    out = data.normalise(imgs)
    assert abs(np.median(out[:, :10, :10])) < 0.02
    assert out[:, 55, 55].min() > 0.4
    assert out.dtype == np.float32


def test_stratified_sample_keeps_proportions_and_splits():
    n = 400
    labels = np.repeat([0, 1, 2, 3], [80, 90, 220, 10])
    s = data.GalaxySet(np.zeros((n, 2, 2), np.float32), labels, np.arange(n), data.split_by_galaxy(labels),
                       meta(n), {})
    sub = s.stratified_sample(200, seed=1)
    assert len(sub) == 200 and np.bincount(sub.labels).tolist() == [40, 45, 110, 5]
    assert np.array_equal(sub.split, s.split[np.isin(s.galaxy_id, sub.galaxy_id)])


def test_a_frame_whose_sky_is_clipped_flat_is_not_blown_up():
    """Over half the border at one clipped value (MAD 0): the noise falls back to the border's
    standard deviation instead of dividing by nothing."""
    rng = np.random.default_rng(2)
    frames = np.clip(rng.normal(0.0, 3.0, size=(2, 110, 110)), 0, None).astype(np.float32)
    frames[1] = np.maximum(frames[1] - 3.0, 0)   # about 84 % of the sky now exactly 0
    frames[:, 50:60, 50:60] += 200
    level, sigma = data.sky_sigma(frames)
    assert sigma[0] > 0 and sigma[1] > 0 and level[1] == 0
    out = data.normalise(frames)
    assert np.abs(out).max() < 0.6


def small_set(path, n=8):
    return data.save(path, np.stack([stamp(i) for i in range(n)]), np.arange(n) % 4, np.arange(n), np.zeros(n),
                     meta(n))


def test_bytes_changed_inside_the_images_are_caught_by_their_checksum(tmp_path):
    path = small_set(tmp_path / "set.h5")
    overwrite_inside_dataset(path, "images")
    with pytest.raises(data.DataFileError, match=r"set\.h5: dataset 'images' fails its Fletcher-32 checksum.*"
                                                 r"delete it and run `make data` again"):
        data.load(path)


def test_a_set_written_before_checksums_still_loads_unverified(tmp_path):
    path = small_set(tmp_path / "old.h5")
    arrays = rewrite_without_checksums(path)
    s = data.load(path)
    assert np.array_equal(s.images, arrays["images"]) and np.array_equal(s.galaxy_id, arrays["galaxy_id"])
    # the same overwrite as above reaches the pixels of an old set, unnoticed by HDF5: so it hits pixels
    overwrite_inside_dataset(path, "images")
    with h5py.File(path, "r") as f:
        changed = f["images"][:] != arrays["images"]
    assert changed.sum() >= 1000 // 4 - 1


def test_non_finite_pixels_are_refused_on_load(tmp_path):
    path = small_set(tmp_path / "inf.h5")
    with h5py.File(path, "a") as f:   # written by another tool, or an older writer, that let them through
        f["images"][3, 7, 7] = np.inf
    with pytest.raises(data.DataFileError, match=r"inf\.h5: 1 images hold NaN or infinite pixels .*\[3\]"):
        data.load(path)
