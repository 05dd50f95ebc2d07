"""Where the repository's files are: the shipped models, plots and screenshots (no torch here)."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = PACKAGE_ROOT / "assets"
DEFAULT_MODELS_DIR = ASSETS_DIR / "models"


def models_dir() -> Path:
    """Where bare model names are looked up: $SENTIMENT_APP_MODELS, else assets/models/."""
    return Path(os.environ.get("SENTIMENT_APP_MODELS", DEFAULT_MODELS_DIR))
