"""Per-family hyperparameters, variants and metadata."""
