"""Sentiment analysis with recurrent networks: train, predict, explain, serve."""

from sentiment_app.inference.predictor import EmptyTextError, Prediction, Predictor, available_models, load_predictor
from sentiment_app.storage.model_dir import ModelLoadError

__version__ = "0.1.0"

__all__ = [
    "EmptyTextError",
    "ModelLoadError",
    "Prediction",
    "Predictor",
    "__version__",
    "available_models",
    "load_predictor",
]
