"""Studies beside the shipped models: hyperparameter search, the long-range memory experiment and gradient decay."""
