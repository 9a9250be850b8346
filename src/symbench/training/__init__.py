"""Training: one LightningModule for every torch model, and fit/predict paths that return predictions.

- :mod:`symbench.training.data`: ``SplitArrays`` (train/val/test numpy arrays) and ``FitResult``.
- :mod:`symbench.training.lightning_module`: ``TargetModule``, classification or regression on h11.
- :mod:`symbench.training.fit_torch`: ``fit_torch`` (Lightning Trainer, early stopping on ``val/acc``).
- :mod:`symbench.training.fit_xgboost`: ``fit_xgboost`` (native ``xgb.train`` on the 104 flattened entries).

Nothing here writes reports; a fit writes only its own model file under the ``out_dir`` it is given.
Import the submodules directly: this package does not import Lightning or XGBoost on its own.
"""
