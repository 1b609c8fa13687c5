"""The networks in PyTorch: C1, C2 and the two baselines, built from one plain layer list each.

Each architecture is written once, in ``ARCHITECTURES``, as a list of framework-neutral layer
records (``Conv``, ``Pool``, ``Flatten``, ``Dropout``, ``Dense``). :func:`build_model` turns a list
into a torch module; the Keras module reads the same list, so the two frameworks cannot drift apart.
The output layer (``n_classes`` logits) is appended by the builder: the softmax lives in the loss
(``nn.CrossEntropyLoss``) during training and in :mod:`helpers.evaluate` at prediction time.

Input is one band, ``(B, 1, H, W)``. The flatten size is not written down anywhere: it follows from
the input size through a dummy forward pass at construction, so one list serves 100x100 (the paper)
and 50x50 (the CPU profiles).

Batch normalisation (``batch_norm=True``, the default) goes after every convolution and before its
ReLU, the placement of Ioffe & Szegedy (2015). The paper probably used batch normalisation but does
not say where; this is the standard choice, and ``batch_norm=False`` gives the plain network whose
parameter count (2,393,412 for C2, 4-way, 100x100) matches the paper's. A convolution followed by
batch normalisation has no bias: the normalisation's shift makes it redundant.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

# ----------------------------------------------------------------------------- the layer records


@dataclass(frozen=True)
class Conv:
    """2-D convolution + (batch norm) + ReLU. padding: 'valid' or 'same' (Keras' vocabulary)."""
    filters: int
    kernel: int
    stride: int = 1
    padding: str = "valid"


@dataclass(frozen=True)
class Pool:
    """Max pooling; stride defaults to the pool size (non-overlapping), as in Keras."""
    size: int
    stride: int | None = None


@dataclass(frozen=True)
class Flatten:
    """End of the convolutional part (``model.features``); the classifier starts here."""


@dataclass(frozen=True)
class Dropout:
    rate: float


@dataclass(frozen=True)
class Dense:
    """Fully connected layer with ReLU, or a maxout layer (Goodfellow et al. 2013) when
    ``maxout > 1``: ``units * maxout`` linear outputs, the maximum taken over each group of
    ``maxout``; maxout is its own non-linearity, so no ReLU follows it."""
    units: int
    maxout: int = 1


ARCHITECTURES: dict[str, tuple] = {
    # Cavanagh, Bekki & Groves (2021), the paper's network.
    "C2": (Conv(32, 7), Pool(2), Conv(64, 5), Conv(64, 5), Pool(2), Conv(128, 3), Pool(2),
           Flatten(), Dropout(0.5), Dense(256), Dense(256)),
    # Cavanagh & Bekki (2020): two convolutions and one huge dense layer (about 34.7 M parameters
    # at 100x100, almost all of them in the 135424 -> 256 dense layer).
    "C1": (Conv(32, 5), Conv(64, 5), Pool(2), Flatten(), Dropout(0.5), Dense(256)),
    # AlexNet (Krizhevsky et al. 2012), adapted: one band in; the 11x11 first convolution has stride 2
    # instead of 4, because our 100 px frame is less than half of AlexNet's 227 px and stride 4 would
    # leave too little of it (it gives a first map of 45 px, AlexNet's is 55); the later convolutions
    # use 'same' padding, as AlexNet's padding of 2 and 1 does; local response normalisation is
    # replaced by the batch-norm switch. Works for inputs of 39 px and up (a 1x1 map at 50).
    "AlexNet": (Conv(96, 11, stride=2), Pool(3, 2), Conv(256, 5, padding="same"), Pool(3, 2),
                Conv(384, 3, padding="same"), Conv(384, 3, padding="same"),
                Conv(256, 3, padding="same"), Pool(3, 2),
                Flatten(), Dropout(0.5), Dense(4096), Dropout(0.5), Dense(4096)),
    # Dieleman, Willett & Dambre (2015), the Galaxy Zoo challenge winner, adapted: one band and one
    # view in (their network saw 16 rotated/flipped crops of one galaxy at once and concatenated
    # the features, "viewpoint pooling"; here the 40 views act as training augmentation and as
    # optional test-time averaging instead), a softmax over our classes instead of their 37
    # constrained Galaxy Zoo vote fractions. The layers and the two 2048-unit maxout (2 pieces)
    # dense layers are theirs. Works for inputs of 37 px and up.
    "Dieleman": (Conv(32, 6), Pool(2), Conv(64, 5), Pool(2), Conv(128, 3), Conv(128, 3), Pool(2),
                 Flatten(), Dropout(0.5), Dense(2048, maxout=2), Dropout(0.5), Dense(2048, maxout=2)),
}
MODEL_NAMES = tuple(ARCHITECTURES)


# ----------------------------------------------------------------------------- torch modules

class Maxout(nn.Module):
    """Maximum over consecutive groups of ``pieces`` features: (B, units * pieces) -> (B, units)."""

    def __init__(self, pieces: int):
        super().__init__()
        self.pieces = pieces

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(1, (-1, self.pieces)).amax(dim=2)


class Net(nn.Module):
    """``features`` (convolutions, up to the flatten) then ``classifier`` (flatten .. logits).

    Kept as two ``nn.Sequential`` so that feature maps can be read layer by layer (notebook 05).
    """

    def __init__(self, name: str, features: nn.Sequential, classifier: nn.Sequential,
                 n_classes: int, input_size: int, batch_norm: bool):
        super().__init__()
        self.name, self.n_classes, self.input_size, self.batch_norm = name, n_classes, input_size, batch_norm
        self.features = features
        self.classifier = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def _conv_layers(spec, batch_norm: bool, channels: int = 1) -> list[nn.Module]:
    layers = []
    for layer in spec:
        if isinstance(layer, Conv):
            pad = layer.kernel // 2 if layer.padding == "same" else 0  # odd kernels only with 'same'
            if layer.padding == "same" and (layer.kernel % 2 == 0 or layer.stride != 1):
                raise ValueError(f"'same' padding needs an odd kernel and stride 1: {layer}")
            layers.append(nn.Conv2d(channels, layer.filters, layer.kernel, stride=layer.stride,
                                    padding=pad, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(layer.filters))
            layers.append(nn.ReLU(inplace=True))
            channels = layer.filters
        elif isinstance(layer, Pool):
            layers.append(nn.MaxPool2d(layer.size, stride=layer.stride or layer.size))
        else:
            raise ValueError(f"{layer} before Flatten()")
    return layers


def _dense_layers(spec, n_in: int, n_classes: int) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Flatten()]
    for layer in spec:
        if isinstance(layer, Dropout):
            layers.append(nn.Dropout(layer.rate))
        elif isinstance(layer, Dense):
            layers.append(nn.Linear(n_in, layer.units * layer.maxout))
            layers.append(Maxout(layer.maxout) if layer.maxout > 1 else nn.ReLU(inplace=True))
            n_in = layer.units
        else:
            raise ValueError(f"{layer} after Flatten()")
    layers.append(nn.Linear(n_in, n_classes))  # logits
    return layers


def build_model(name: str, n_classes: int, input_size: int = 100, batch_norm: bool = True,
                channels: int = 1) -> Net:
    """Build one of ``MODEL_NAMES`` for ``(B, channels, input_size, input_size)`` inputs (one band,
    the paper's g, by default; 3 for the Galaxy10 colour images).

    The weights are drawn from torch's global generator: call ``train.seed_everything(seed)`` first
    for reproducible initial weights.
    """
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown model {name!r}; choose one of {MODEL_NAMES}")
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes}")
    spec = ARCHITECTURES[name]
    cut = next(i for i, layer in enumerate(spec) if isinstance(layer, Flatten))
    features = nn.Sequential(*_conv_layers(spec[:cut], batch_norm, channels))
    # Dummy forward (eval mode: batch norm must not update its running statistics; no gradient).
    features.eval()
    try:
        with torch.no_grad():
            n_flat = features(torch.zeros(1, channels, input_size, input_size)).numel()
    except RuntimeError as e:
        raise ValueError(f"{name} cannot take {input_size}x{input_size} inputs: {e}") from e
    features.train()
    classifier = nn.Sequential(*_dense_layers(spec[cut + 1:], n_flat, n_classes))
    return Net(name, features, classifier, n_classes, input_size, batch_norm)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters; batch-norm running statistics are buffers, not counted."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def flatten_size(model: Net) -> int:
    """Width of the flattened feature vector (8192 for C2 at 100x100)."""
    first = next(m for m in model.classifier if isinstance(m, nn.Linear))
    return first.in_features


def training_flops(model: Net, input_size: int | None = None) -> float:
    """Floating-point operations of one training step per image, counted from the layer shapes:
    2 per multiply-add of every convolution and dense layer in the forward pass, times 3 for the
    forward and backward passes (the backward pass computes the gradients of the inputs and of the
    weights, each as costly as the forward). Batch norm, ReLU and pooling (a few % more) are left out.
    C2 at 100x100: about 1.7 GFLOP per image."""
    size = input_size or model.input_size
    macs = 0

    def count(module, inputs, output):
        nonlocal macs
        if isinstance(module, nn.Conv2d):
            macs += output[0].numel() * module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
        elif isinstance(module, nn.Linear):
            macs += module.in_features * module.out_features

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, 1, size, size, device=next(model.parameters()).device))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return 3 * 2 * float(macs)
