"""Multi-process training: torchrun with two processes on CPU (gloo) reaches the quality of one."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sentiment_app.paths import PACKAGE_ROOT
from tests.helpers import free_port, synthetic_reviews, write_csv
from training.train import main

pytestmark = pytest.mark.slow
ROOT = PACKAGE_ROOT
ARGS = [
    "--model",
    "gru",
    "--epochs",
    "4",
    "--patience",
    "4",
    "--embedding-dim",
    "32",
    "--hidden-dim",
    "32",
    "--vocab-size",
    "300",
    "--min-frequency",
    "1",
    "--quiet",
]


def test_two_processes_reach_the_quality_of_one(tmp_path):
    data = write_csv(tmp_path / "reviews.csv", synthetic_reviews(3000, seed=5))
    assert main([*ARGS, "--dataset", str(data), "--out", str(tmp_path / "single")]) == 0
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        str(free_port()),
        "-m",
        "training.train",
        *ARGS,
        "--dataset",
        str(data),
        "--out",
        str(tmp_path / "ddp"),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    single = json.loads((tmp_path / "single" / "metrics.json").read_text())
    ddp = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    assert ddp["test"]["accuracy"] >= 0.95 and single["test"]["accuracy"] >= 0.95
    assert abs(ddp["test"]["accuracy"] - single["test"]["accuracy"]) <= 0.03
    # each process took half of every epoch's batches, so the history has the same epochs
    assert [h["epoch"] for h in ddp["history"]] == [h["epoch"] for h in single["history"]]
    assert not (tmp_path / ".ddp.checkpoint").exists()
