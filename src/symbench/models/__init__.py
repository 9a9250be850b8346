"""Model architectures, one module per architecture: plain ``torch.nn``, no data code, no paths.

Every model takes only keyword arguments (so Hydra's ``_target_`` can build it), maps a float batch of vertex
matrices ``(B, 4, 26)`` to ``(B, n_outputs)`` (class logits, or one regression value), and says in its
docstring exactly which permutations of rows and columns it is invariant to.

- :mod:`symbench.models.ks_cnn`: ``KSCNN``, the reference's small CNN on the 4×26 image (no invariance).
- :mod:`symbench.models.invariant_mlp`: ``InvariantMLP``, the reference's two DeepSets-like branches.
- :mod:`symbench.models.hartford`: ``ExchangeableLayer`` and ``HartfordNet`` (Hartford et al. 2018), exactly
  S4×S26-invariant.
"""
