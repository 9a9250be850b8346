"""A small 3D CNN on whole-brain fMRI clips: the TRs of a clip are the input channels of a volume.

Input ``(B, T, X, Y, Z)`` (T = 10 TRs per 15-s clip in ds003720; e.g. 48 × 48 × 34 voxels after 2×
downsampling). Each block is Conv3d → BatchNorm3d → ReLU → 2× downsampling; then a global average over the
remaining volume, dropout and one linear layer to the genre logits. An optional BatchNorm3d on the input
(``input_norm``) puts BOLD values of any scale on a common footing without touching the data.

Determinism on CUDA: ``torch.use_deterministic_algorithms(True)`` (Lightning's ``deterministic=True``) refuses
the backward pass of ``MaxPool3d`` on CUDA tensors; ``downsample="stride"`` (the block's convolution itself has
stride 2) is bit-reproducible there too. The global average is a plain mean, deterministic everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

Downsample = Literal["max", "stride"]


class BrainCNN3d(nn.Module):
    """3D conv net ``(B, in_channels, X, Y, Z)`` → ``(B, n_outputs)``; no invariance beyond translation.

    Args:
        n_outputs: number of classes (10 GTZAN genres).
        in_channels: TRs per clip, used as channels (10).
        widths: output channels of each block, in order; one 2× downsampling per block.
        kernel_size: odd cubic kernel of every convolution ("same" padding).
        downsample: ``"max"`` (MaxPool3d(2) after the ReLU) or ``"stride"`` (stride-2 convolution, no
            pooling; deterministic on CUDA).
        dropout: dropout probability before the linear layer.
        input_norm: BatchNorm3d (no affine) on the input channels first.
    """

    def __init__(
        self,
        n_outputs: int = 10,
        in_channels: int = 10,
        widths: Sequence[int] = (16, 32, 64),
        kernel_size: int = 3,
        downsample: Downsample = "max",
        dropout: float = 0.5,
        input_norm: bool = True,
    ) -> None:
        super().__init__()
        if not widths or any(w < 1 for w in widths):
            raise ValueError(f"BrainCNN3d: widths must be a non-empty list of positive ints, got {list(widths)}")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"BrainCNN3d: kernel_size must be odd and positive, got {kernel_size}")
        if downsample not in ("max", "stride"):
            raise ValueError(f"BrainCNN3d: downsample must be 'max' or 'stride', got {downsample!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"BrainCNN3d: dropout must be in [0, 1), got {dropout}")
        self.in_channels = in_channels
        layers: list[nn.Module] = [nn.BatchNorm3d(in_channels, affine=False)] if input_norm else []
        in_ch = in_channels
        for width in widths:
            stride = 2 if downsample == "stride" else 1
            # no conv bias: the BatchNorm right after it has its own shift
            layers += [
                nn.Conv3d(in_ch, width, kernel_size, stride=stride, padding=kernel_size // 2, bias=False),
                nn.BatchNorm3d(width),
                nn.ReLU(inplace=True),
            ]
            if downsample == "max":
                layers.append(nn.MaxPool3d(2, ceil_mode=True))
            in_ch = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(in_ch, n_outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 5 or x.shape[1] != self.in_channels:
            raise ValueError(f"BrainCNN3d: expected input (B, {self.in_channels}, X, Y, Z), got {tuple(x.shape)}")
        h = self.features(x)
        return self.head(h.mean(dim=(2, 3, 4)))
