"""Model architectures, one module per architecture: plain ``torch.nn``, no data code, no paths.

KS models take only keyword arguments (so Hydra's ``_target_`` can build them), map a float batch of vertex
matrices ``(B, 4, 26)`` to ``(B, n_outputs)`` (class logits, or one regression value), and say in their
docstrings exactly which permutations of rows and columns they are invariant to. The music study's models
(``brain_cnn3d`` on fMRI clip tensors, ``bbnn`` on log-mel spectrograms, ``distilhubert`` on 16 kHz audio) map a
clip batch to genre logits. Each DVC train stage lists the model files it reads, not this whole package.

- :mod:`symbench.models.ks_cnn`: ``KSCNN``, the reference's small CNN on the 4×26 image (no invariance).
- :mod:`symbench.models.invariant_mlp`: ``InvariantMLP``, the reference's two DeepSets-like branches.
- :mod:`symbench.models.hartford`: ``ExchangeableLayer`` and ``HartfordNet`` (Hartford et al. 2018), exactly
  S4×S26-invariant.
"""
