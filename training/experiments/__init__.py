"""Studies beside the shipped models: hyperparameter search and the long-range memory experiment."""
