"""Local receptive fields for the first FF layer, deployed as an ordinary dense layer.

The first layer's neurons sit on a grid over the image: neuron ``(c, i, j)`` (channel-major)
sees the ``k x k`` patch at ``(i * stride - pad, j * stride - pad)``, ``pad = k // 2``
(zero padding). Two kinds:

* ``shared`` (a convolution): every position of channel ``c`` uses the same ``k x k`` kernel;
  the trained parameter is the ``(C, k, k)`` kernel bank;
* locally connected: every neuron has its own ``k x k`` weights (a dense matrix whose
  entries outside the patch stay exactly zero).

Either way the image weights unroll to a plain ``(C * H' * W', H * W)`` matrix (:func:`unroll`),
so the trained network is a Network of dense layers like any other: quantization, the
emulator, NIR and the Lava export take it unchanged. The label inputs (appended after the image
pixels) stay fully connected: each neuron keeps its own label weights.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np
import torch


@dataclass(frozen=True)
class ReceptiveGrid:
    """Geometry of a first layer with ``channels`` maps of ``kernel x kernel`` receptive fields,
    ``stride`` apart, over a ``(H, W)`` image (zero padding ``kernel // 2``)."""

    image_shape: Tuple[int, int]
    channels: int
    kernel: int
    stride: int

    def __post_init__(self):
        if len(self.image_shape) != 2:
            raise ValueError(f"receptive fields need 2-D images, got shape {self.image_shape}")
        if min(self.channels, self.kernel, self.stride) < 1:
            raise ValueError("receptive fields need channels, kernel and stride >= 1")
        if self.kernel > min(self.image_shape) + 2 * self.pad:
            raise ValueError(f"kernel {self.kernel} is larger than the padded image")

    @property
    def pad(self) -> int:
        return self.kernel // 2

    @property
    def out_shape(self) -> Tuple[int, int]:
        return tuple((n + 2 * self.pad - self.kernel) // self.stride + 1
                     for n in self.image_shape)

    @property
    def n_neurons(self) -> int:
        h, w = self.out_shape
        return self.channels * h * w

    def index(self) -> np.ndarray:
        """``(n_neurons, H * W)`` int64: for each neuron and pixel, the index into the flat
        ``(C * k * k)`` kernel bank of the weight joining them, or ``C * k * k`` (a zero
        entry) where the pixel lies outside the neuron's patch."""
        H, W = self.image_shape
        k, s, p, C = self.kernel, self.stride, self.pad, self.channels
        oh, ow = self.out_shape
        zero = C * k * k
        idx = np.full((C, oh, ow, H, W), zero, dtype=np.int64)
        for i in range(oh):
            for j in range(ow):
                y0, x0 = i * s - p, j * s - p
                for dy in range(k):
                    for dx in range(k):
                        y, x = y0 + dy, x0 + dx
                        if 0 <= y < H and 0 <= x < W:
                            idx[:, i, j, y, x] = np.arange(C) * k * k + dy * k + dx
        return idx.reshape(C * oh * ow, H * W)

    def mask(self) -> np.ndarray:
        """``(n_neurons, H * W)`` bool: True where a pixel lies in the neuron's patch."""
        return self.index() < self.channels * self.kernel ** 2


def unroll(kernels: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """The dense image weights ``(n_neurons, H * W)`` of a kernel bank ``(C, k, k)``
    (differentiable: the gradient of each kernel entry sums over the positions using it)."""
    flat = torch.cat([kernels.reshape(-1), kernels.new_zeros(1)])
    return flat[index]
