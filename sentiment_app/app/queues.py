"""Gradio's queues: interactive and API calls share one group and file work has its own; the
service's model slots bound the model work of all of them together (limits.CONCURRENCY)."""

from sentiment_app.limits import CONCURRENCY

MODEL_GROUP = {"concurrency_id": "model", "concurrency_limit": CONCURRENCY}
FILE_GROUP = {"concurrency_id": "files", "concurrency_limit": 1}
