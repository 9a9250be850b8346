"""BBNN, the Bottom-up Broadcast Neural Network for music genre classification on log-mel spectrograms.

C. Liu, L. Feng, G. Liu, H. Wang, S. Liu, "Bottom-up broadcast neural network for music genre
classification", Multimedia Tools and Applications (2021), arXiv:1901.08928 (2019).

Layout (input ``(B, 1, n_mels, frames)`` or ``(B, n_mels, frames)``, e.g. 128 × 647):

1. Shallow stem: 3×3 conv (``stem_width`` = 32) → BN → ReLU → max-pool of 4 along time (the paper's 4×1 on its
   time × frequency layout).
2. Broadcast module: three Inception blocks. Each has four parallel branches of ``branch_width`` (32)
   channels: 1×1; 1×1 → 3×3; 1×1 → 5×5; 3×3 max-pool (stride 1) → 1×1; their outputs are concatenated
   (4 × 32 = 128 channels). Dense "broadcast" connections: block ``k`` sees the stem output and the outputs of
   all earlier blocks, concatenated (32 → 160 → 288 channels in), and the transition sees all of them
   (32 + 3 × 128 = 416).
3. Transition: 1×1 conv to ``transition_width`` (32) → BN → ReLU → 2×2 max-pool.
4. Decision: global average pooling → dropout → linear to ``n_outputs`` logits (softmax is in the loss).

Deviations from the paper, all deliberate: every convolution is Conv → BN → ReLU without a conv bias (the
paper uses BN with its convolutions; a public Keras reimplementation puts BN before each convolution, and the
exact order could not be checked here); the decision layer's BN before the pooling is left out (the transition
already ends in BN → ReLU); ``dropout`` (default 0: the paper's layer list has none) is an option for small
data sets; pooling uses ``ceil_mode`` so any frame count ≥ 1 works; the 5×5 branch can be two stacked 3×3
convolutions (``factorize_5x5``, as in Inception v2, 159,786 parameters; the default keeps the paper's 5×5).
Parameter count with the defaults and 10 classes: 181,098 (the same layers with conv biases and no BN have
180,458, the "~0.18 M" the paper reports).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["BBNN"]


class BBNN(nn.Module):
    """Bottom-up broadcast network: log-mel ``(B, [1,] n_mels, frames)`` → genre logits ``(B, n_outputs)``.

    Args:
        n_outputs: number of classes (10 GTZAN genres).
        n_mels: mel bands of the input (128); only checked, the network itself takes any size.
        stem_width: channels of the 3×3 stem convolution (32).
        branch_width: channels of each of the four branches of every Inception block (32).
        n_blocks: Inception blocks in the broadcast module (3).
        transition_width: channels of the transition's 1×1 convolution (32).
        time_pool: max-pool factor along time after the stem (4).
        dropout: dropout probability before the linear layer (0: none, as in the paper).
        factorize_5x5: the 5×5 branch as two 3×3 convolutions (fewer parameters, same receptive field).
    """

    def __init__(
        self,
        n_outputs: int = 10,
        n_mels: int = 128,
        stem_width: int = 32,
        branch_width: int = 32,
        n_blocks: int = 3,
        transition_width: int = 32,
        time_pool: int = 4,
        dropout: float = 0.0,
        factorize_5x5: bool = False,
    ) -> None:
        super().__init__()
        for name, value in (
            ("n_outputs", n_outputs),
            ("n_mels", n_mels),
            ("stem_width", stem_width),
            ("branch_width", branch_width),
            ("n_blocks", n_blocks),
            ("transition_width", transition_width),
            ("time_pool", time_pool),
        ):
            if int(value) < 1:
                raise ValueError(f"BBNN: {name} must be a positive int, got {value!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"BBNN: dropout must be in [0, 1), got {dropout}")
        self.n_mels = n_mels
        self.stem = nn.Sequential(
            _conv_bn_relu(1, stem_width, 3),
            nn.MaxPool2d((1, time_pool), ceil_mode=True),
        )
        blocks = []
        channels = stem_width
        for _ in range(n_blocks):
            block = InceptionBlock(channels, branch_width, factorize_5x5=factorize_5x5)
            blocks.append(block)
            channels += block.out_channels
        self.blocks = nn.ModuleList(blocks)
        self.transition = nn.Sequential(
            _conv_bn_relu(channels, transition_width, 1),
            nn.MaxPool2d(2, ceil_mode=True),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(transition_width, n_outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 3:
            x = x[:, None]
        if x.ndim != 4 or x.shape[1] != 1 or x.shape[2] != self.n_mels:
            raise ValueError(
                f"BBNN: expected input (B, 1, {self.n_mels}, frames) or (B, {self.n_mels}, frames), "
                f"got {tuple(x.shape)}"
            )
        features = [self.stem(x)]
        for block in self.blocks:
            # broadcast: every block sees the stem and all earlier blocks
            inputs = features[0] if len(features) == 1 else torch.cat(features, dim=1)
            features.append(block(inputs))
        h = self.transition(torch.cat(features, dim=1))
        return self.head(h.mean(dim=(2, 3)))


class InceptionBlock(nn.Module):
    """Four parallel branches (1×1; 1×1→3×3; 1×1→5×5; 3×3 max-pool→1×1), concatenated: ``4 × width`` out."""

    def __init__(self, in_channels: int, width: int, *, factorize_5x5: bool = False) -> None:
        super().__init__()
        self.out_channels = 4 * width
        self.branch1 = _conv_bn_relu(in_channels, width, 1)
        self.branch3 = nn.Sequential(_conv_bn_relu(in_channels, width, 1), _conv_bn_relu(width, width, 3))
        wide = (
            [_conv_bn_relu(width, width, 3), _conv_bn_relu(width, width, 3)]
            if factorize_5x5
            else [_conv_bn_relu(width, width, 5)]
        )
        self.branch5 = nn.Sequential(_conv_bn_relu(in_channels, width, 1), *wide)
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), _conv_bn_relu(in_channels, width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)], dim=1)


def _conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    """ "Same"-padded conv without bias (the BN right after it has its own shift) → BN → ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )
