"""Helpers shared by the tests: a synthetic sentiment dataset, CSV writing, a free port, the
flags of a tiny model. Fixtures live in the conftest.py files."""

from __future__ import annotations

import csv
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

POSITIVE_WORDS = ["great", "wonderful", "moving", "brilliant", "delightful", "superb", "charming"]
NEGATIVE_WORDS = ["awful", "boring", "dreadful", "tedious", "clumsy", "terrible", "dull"]
SUBJECTS = ["the film", "this movie", "the story", "the cast", "the script", "its ending"]
FILLERS = ["", "honestly", "from start to finish", "for the most part", "in the end", "really"]

TINY_MODEL_ARGS = (
    "--epochs 6 --learning-rate 0.01 --dropout 0.1 --token-dropout 0 --embedding-dim 16 --hidden-dim 16 "
    "--vocab-size 200 --min-frequency 1 --batch-size 16 --patience 4 --quiet"
).split()  # a model that trains in seconds


def synthetic_reviews(count: int, seed: int = 0) -> list[tuple[str, int]]:
    """Distinct short reviews whose label is set by one sentiment word."""
    rng = random.Random(seed)
    rows, seen = [], set()
    while len(rows) < count:
        label = rng.randint(0, 1)
        word = rng.choice(POSITIVE_WORDS if label else NEGATIVE_WORDS)
        text = f"{rng.choice(SUBJECTS)} is {word} {rng.choice(FILLERS)} number {len(rows)}".replace("  ", " ")
        if text not in seen:
            seen.add(text)
            rows.append((text, label))
    return rows


def free_port() -> int:
    """A TCP port nothing listens on right now, for a server under test."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_csv(path: Path, rows, header=("text", "label")) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def wait_until_serving(url: str, process=None, timeout: float = 90) -> bool:
    """Poll `url` until it answers 200 (True), `process` exits, or `timeout` seconds pass (False)."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (process is None or process.poll() is None):
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    return False


class RecordingHubApi:
    """Stands in for huggingface_hub.HfApi: records create_repo and upload_folder, sends nothing."""

    def __init__(self):
        self.calls = []

    def create_repo(self, repo_id, **options):
        self.calls.append(("create_repo", repo_id, options))

    def upload_folder(self, **options):
        self.calls.append(("upload_folder", options["repo_id"], options))


def start_server(models_dir: Path, port: int, stdout=subprocess.PIPE, env: dict[str, str] | None = None):
    """`sentiment serve` on loopback in a process of its own, as users run it; output to `stdout`."""
    from sentiment_app.paths import PACKAGE_ROOT

    return subprocess.Popen(
        [sys.executable, "-m", "sentiment_app.cli.serve", "--models-dir", str(models_dir), "--port", str(port)],
        env={**(os.environ if env is None else env), "PYTHONPATH": str(PACKAGE_ROOT)},
        stdout=stdout,
        stderr=subprocess.STDOUT,
        text=True,
    )
