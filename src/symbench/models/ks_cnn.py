"""A small CNN on the 4×26 vertex matrix seen as a one-channel image: the reference's "CNN" baseline.

The reference (danielplatt/kreuzer-skarke-ML, ``src/models/vanilla_nn.py``, Keras) stacks two valid 2×2
convolutions with 5 and 4 filters and *no* nonlinearity between them, flattens, then Dense(64, relu) →
Dense(50, linear) → Dense(1) for regression (MSE, Adam 1e-3, batch size 1, 20 epochs). The defaults below
reproduce that shape; ``conv_activation=True`` and ``dropout`` are our additions. Not invariant to any row
or column permutation.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class KSCNN(nn.Module):
    """Conv net on the ``(B, 1, rows, cols)`` image → ``(B, n_outputs)``.

    Args:
        n_outputs: number of classes (classification) or 1 (regression).
        channels: filters of each valid ``kernel_size`` convolution, in order.
        kernel_size: square kernel of every convolution (reference: 2).
        hidden: width of the ReLU layer after flattening (reference: 64).
        bottleneck: width of a linear layer (no activation) before the output, or ``None`` for none
            (reference: 50, which is where its classification variant stopped).
        dropout: dropout probability after the hidden layer (reference: none).
        conv_activation: put a ReLU after each convolution (reference: no).
        rows, cols: matrix shape (4 × 26 for the KS data).
    """

    def __init__(
        self,
        n_outputs: int,
        channels: Sequence[int] = (5, 4),
        kernel_size: int = 2,
        hidden: int = 64,
        bottleneck: int | None = 50,
        dropout: float = 0.0,
        conv_activation: bool = False,
        rows: int = 4,
        cols: int = 26,
    ) -> None:
        super().__init__()
        convs: list[nn.Module] = []
        in_ch, h, w = 1, rows, cols
        for out_ch in channels:
            convs.append(nn.Conv2d(in_ch, out_ch, kernel_size))
            if conv_activation:
                convs.append(nn.ReLU())
            in_ch, h, w = out_ch, h - kernel_size + 1, w - kernel_size + 1
        if h < 1 or w < 1:
            raise ValueError(
                f"KSCNN: {len(channels)} convolutions of kernel {kernel_size} do not fit a {rows}×{cols} input"
            )
        self.features = nn.Sequential(*convs, nn.Flatten())
        head: list[nn.Module] = [nn.Linear(in_ch * h * w, hidden), nn.ReLU()]
        if dropout > 0:
            head.append(nn.Dropout(dropout))
        last = hidden
        if bottleneck is not None:
            head.append(nn.Linear(hidden, bottleneck))
            last = bottleneck
        head.append(nn.Linear(last, n_outputs))
        self.head = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(B, rows, cols)`` float → ``(B, n_outputs)``."""
        return self.head(self.features(x.unsqueeze(1)))
