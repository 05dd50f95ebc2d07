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


def node_command(node_rank: int, port: int, data, out) -> list[str]:
    """One "machine" of a two-node job: torchrun with c10d rendezvous on loopback."""
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes",
        "2",
        "--nproc-per-node",
        "1",
        "--rdzv-backend",
        "c10d",
        "--rdzv-endpoint",
        f"127.0.0.1:{port}",
        "--rdzv-id",
        "two-nodes",
        "--node-rank",
        str(node_rank),
        "--local-addr",
        "127.0.0.1",
        "-m",
        "training.train",
        *ARGS,
        "--dataset",
        str(data),
        "--out",
        str(out),
    ]


def test_two_nodes_of_one_process_each_reach_the_quality_of_one(tmp_path):
    data = write_csv(tmp_path / "reviews.csv", synthetic_reviews(3000, seed=5))
    assert main([*ARGS, "--dataset", str(data), "--out", str(tmp_path / "single")]) == 0
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    # each node names its own output directory: only the process that rendezvous made rank 0
    # may write one, so exactly one of them must exist at the end
    outs = [tmp_path / f"node{rank}" for rank in (0, 1)]
    nodes = [
        subprocess.Popen(
            node_command(rank, port, data, outs[rank]),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in (0, 1)
    ]
    results = [node.communicate(timeout=400) for node in nodes]
    for node, (_, stderr) in zip(nodes, results):
        assert node.returncode == 0, stderr[-2000:]
    written = [out for out in outs if out.exists()]
    assert len(written) == 1, written
    assert not any(path.name.startswith(".node") for path in tmp_path.iterdir())  # no checkpoint left or strayed
    single = json.loads((tmp_path / "single" / "metrics.json").read_text())
    nodes_metrics = json.loads((written[0] / "metrics.json").read_text())
    assert nodes_metrics["test"]["accuracy"] >= 0.95 and single["test"]["accuracy"] >= 0.95
    assert abs(nodes_metrics["test"]["accuracy"] - single["test"]["accuracy"]) <= 0.03
    assert [h["epoch"] for h in nodes_metrics["history"]] == [h["epoch"] for h in single["history"]]
