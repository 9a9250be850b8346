"""symbench: reproducible experiments in group-invariant machine learning."""

__version__ = "0.1.0"
