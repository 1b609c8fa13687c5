"""The networks in Keras 3 (TensorFlow backend), built from the same layer records as PyTorch's.

:func:`build_model` reads ``models_torch.ARCHITECTURES``, the one written list of each network, so
C1 and C2 here are layer for layer the PyTorch ones: same convolutions, pools, batch normalisation
(after each convolution, before its ReLU; the convolution then has no bias), dropout, dense layers
and a final dense layer of logits (the softmax lives in the loss and in :func:`predict_proba`).
A test checks that both frameworks count the same trainable parameters.

Layout is Keras' own, channels last: ``(B, H, W, C)``. PyTorch's BatchNorm2d momentum 0.1 is
Keras' momentum 0.9 (they weigh the old running average and the new batch the other way round);
eps 1e-5 as in PyTorch.

Backend: Keras reads ``KERAS_BACKEND`` at its first import. This module sets it to tensorflow if
nothing has set it yet, and refuses to run under another backend.

Training (:func:`fit`) mirrors :func:`helpers.train.fit`: Adam, cross-entropy, the same epoch plan
(one random view of the 40 per galaxy, from ``train.epoch_plan``), early stopping on the
validation loss with the best weights restored, optional balanced class weights. Determinism:
:func:`seed_everything` seeds Python, NumPy and Keras and switches TensorFlow to deterministic ops;
TensorFlow's thread counts are pinned before its runtime starts (they cannot change afterwards).
"""
from __future__ import annotations

import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

from .models_torch import ARCHITECTURES, MODEL_NAMES, Conv, Dense, Dropout, Flatten, Pool  # noqa: E402
from .train import History, Profile, class_weights, epoch_plan  # noqa: E402

if keras.backend.backend() != "tensorflow":
    raise ImportError(f"helpers.models_keras needs the tensorflow backend, Keras runs on "
                      f"{keras.backend.backend()!r}: set KERAS_BACKEND=tensorflow before importing keras")

import tensorflow as tf  # noqa: E402

THREADS = int(os.environ.get("TF_NUM_THREADS", os.cpu_count() or 1))
try:  # only possible before TensorFlow's runtime has started; results depend on the thread count
    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(1)
except RuntimeError:
    pass


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and Keras (hence TensorFlow) and make TensorFlow's ops deterministic."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


class Maxout(layers.Layer):
    """Maximum over consecutive groups of ``pieces`` features, as ``models_torch.Maxout``."""

    def __init__(self, pieces: int, **kw):
        super().__init__(**kw)
        self.pieces = pieces

    def call(self, x):
        units = x.shape[-1] // self.pieces
        return keras.ops.max(keras.ops.reshape(x, (-1, units, self.pieces)), axis=-1)

    def get_config(self):
        return {**super().get_config(), "pieces": self.pieces}


def build_model(name: str, n_classes: int, input_size: int = 100, channels: int = 1,
                batch_norm: bool = True) -> keras.Model:
    """One of ``MODEL_NAMES`` for ``(B, input_size, input_size, channels)`` inputs, logits out.

    Weights are drawn from Keras' seeded generator: call :func:`seed_everything` first.
    """
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown model {name!r}; choose one of {MODEL_NAMES}")
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes}")
    inputs = keras.Input((input_size, input_size, channels))
    try:
        x = _layers(inputs, ARCHITECTURES[name], batch_norm)
    except ValueError as e:
        raise ValueError(f"{name} cannot take {input_size}x{input_size} inputs: {e}") from e
    outputs = layers.Dense(n_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name=name)


def _layers(x, spec, batch_norm: bool):
    for layer in spec:
        if isinstance(layer, Conv):
            if layer.padding == "same" and (layer.kernel % 2 == 0 or layer.stride != 1):
                raise ValueError(f"'same' padding needs an odd kernel and stride 1: {layer}")
            x = layers.Conv2D(layer.filters, layer.kernel, strides=layer.stride, padding=layer.padding,
                              use_bias=not batch_norm)(x)
            if batch_norm:
                x = layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x)
            x = layers.ReLU()(x)
        elif isinstance(layer, Pool):
            x = layers.MaxPooling2D(layer.size, strides=layer.stride or layer.size)(x)
        elif isinstance(layer, Flatten):
            if min(x.shape[1:3]) < 1:
                raise ValueError(f"an empty feature map {tuple(x.shape[1:])} before the flatten")
            x = layers.Flatten(name="flatten")(x)
        elif isinstance(layer, Dropout):
            x = layers.Dropout(layer.rate)(x)
        elif isinstance(layer, Dense):
            x = layers.Dense(layer.units * layer.maxout)(x)
            x = Maxout(layer.maxout)(x) if layer.maxout > 1 else layers.ReLU()(x)
    return x


def count_parameters(model: keras.Model, trainable_only: bool = True) -> int:
    """Trainable parameters (batch norm's moving mean and variance are not trainable)."""
    weights = model.trainable_weights if trainable_only else model.weights
    return int(sum(np.prod(w.shape) for w in weights))


def flatten_size(model: keras.Model) -> int:
    return int(model.get_layer("flatten").output.shape[-1])


# ----------------------------------------------------------------------------- training

def _loss():
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum_over_batch_size")


def _evaluate(model, batch_fn, images, labels, input_size, weight, batch_size) -> tuple[float, float]:
    """Loss (weighted mean, as the training loss) and accuracy on the centre view of every galaxy."""
    loss_sum = weight_sum = correct = 0.0
    for start in range(0, len(labels), batch_size):
        idx = np.arange(start, min(start + batch_size, len(labels)))
        x, y = batch_fn(images, idx, None, input_size), labels[idx]
        logits = model(x, training=False)
        per = keras.ops.convert_to_numpy(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))
        w = weight[y] if weight is not None else np.ones(len(y))
        loss_sum += float(np.sum(per * w))
        weight_sum += float(np.sum(w))
        correct += int(np.sum(np.argmax(keras.ops.convert_to_numpy(logits), 1) == y))
    return loss_sum / weight_sum, correct / len(labels)


def fit(model: keras.Model, batch_fn, train_images, train_labels, val_images, val_labels,
        profile: Profile, seed: int, progress: bool = False, balanced_validation: bool = False) -> History:
    """Train in place, as ``helpers.train.fit`` does in PyTorch (no checkpoints: the Keras runs are short).

    ``batch_fn(images, idx, views, input_size)`` makes the network input of galaxies ``idx`` in views
    ``views`` (``None``: the centre view). With ``profile.class_weights == 'balanced'`` each sample's
    loss (training and validation alike) is weighted by n / (k * count) of its class. With
    ``balanced_validation`` the validation loss is weighted by the validation set's own balanced
    weights whatever the training does: early stopping then watches every class equally, a common
    rule for comparing rebalancing strategies (resampled training sets change the class prior the
    network learns, which an unweighted validation loss would punish).
    """
    train_labels = np.asarray(train_labels, dtype=np.int64)
    val_labels = np.asarray(val_labels, dtype=np.int64)
    seed_everything(seed)
    n_classes = int(model.output.shape[-1])
    weight = None
    if profile.class_weights == "balanced":
        weight = class_weights(train_labels, n_classes).astype(np.float32)
    elif profile.class_weights != "none":
        raise ValueError(f"unknown class_weights {profile.class_weights!r}; use 'none' or 'balanced'")
    val_weight = class_weights(val_labels, n_classes).astype(np.float32) if balanced_validation else weight
    model.compile(optimizer=keras.optimizers.Adam(profile.lr), loss=_loss(), metrics=["accuracy"])
    history = History()
    best_weights, best_loss, bad_epochs = model.get_weights(), float("inf"), 0
    for epoch in range(profile.max_epochs):
        t0 = time.perf_counter()
        order, views = epoch_plan(len(train_labels), profile.augment, seed, epoch)
        loss_sum = correct = seen = 0.0
        for start in range(0, len(order), profile.batch_size):
            sl = slice(start, start + profile.batch_size)
            x, y = batch_fn(train_images, order[sl], views[sl], profile.input_size), train_labels[order[sl]]
            sw = weight[y] if weight is not None else None
            model.reset_metrics()  # Keras 3 keeps running means across calls: per-batch values here
            loss, acc = model.train_on_batch(x, y, sample_weight=sw)
            loss_sum += float(loss) * len(y)
            correct += float(acc) * len(y)
            seen += len(y)
        val_loss, val_acc = _evaluate(model, batch_fn, val_images, val_labels, profile.input_size, val_weight,
                                      max(profile.batch_size, 256))
        history.train_loss.append(loss_sum / seen)
        history.train_acc.append(correct / seen)
        history.val_loss.append(val_loss)
        history.val_acc.append(val_acc)
        history.epoch_seconds.append(time.perf_counter() - t0)
        history.train_seconds = float(sum(history.epoch_seconds))
        history.stopped_epoch = epoch + 1
        if progress:
            print(f"epoch {epoch + 1}: loss {loss_sum / seen:.4f} acc {correct / seen:.3f} "
                  f"val_loss {val_loss:.4f} val_acc {val_acc:.3f} ({history.epoch_seconds[-1]:.1f} s)")
        if val_loss < best_loss:
            best_loss, bad_epochs, best_weights = val_loss, 0, model.get_weights()
            history.best_epoch = epoch + 1
        else:
            bad_epochs += 1
        if bad_epochs >= profile.patience:
            break
    model.set_weights(best_weights)
    return history


def predict_proba(model: keras.Model, batch_fn, images, input_size: int, tta: bool = False,
                  batch: int = 256, n_views: int = 40) -> np.ndarray:
    """Softmax probabilities (N, k): centre view, or the mean over the 40 views with ``tta``."""
    views = range(n_views) if tta else (None,)
    out = 0.0
    for v in views:
        parts = []
        for start in range(0, len(images), batch):
            idx = np.arange(start, min(start + batch, len(images)))
            logits = model(batch_fn(images, idx, v, input_size), training=False)
            parts.append(keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1)))
        out = out + np.concatenate(parts).astype(np.float64)
    return out / len(views)
