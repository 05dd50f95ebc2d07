"""The scale benchmark's smoke run: one small size, in its own process, writes every figure.
Speed is never asserted here; the figures live in docs/training.md."""

from __future__ import annotations

import json

import pytest

from benchmarks.scale import main, synthetic_texts

pytestmark = pytest.mark.slow


def test_synthetic_texts_come_with_labels_and_are_not_copies_of_each_other():
    texts, labels = synthetic_texts(500)
    assert len(texts) == len(labels) == 500 and set(labels) == {0, 1}
    assert len(set(texts)) > 450


def test_a_small_run_writes_every_figure_of_each_size(tmp_path):
    out = tmp_path / "scale"
    assert main(["--sizes", "1000", "--trained-batches", "2", "--out", str(out)]) == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["command"].startswith("python -m benchmarks.scale") and "cores" in report["machine"]
    (row,) = report["sizes"]
    assert row["texts"] == 1000 and 0 < row["kept_texts"] <= 1000 and row["tokens"] > row["kept_texts"]
    for key in ("tokenise_cpu_seconds", "prepare_cpu_seconds", "epoch_samples_per_cpu_second", "peak_rss_mib"):
        assert row[key] > 0, key
    assert row["training_ids_bytes_per_token"] <= 8  # int32 ids and int64 offsets
    assert report["prepare_per_text_ratio"] == report["epoch_cpu_throughput_ratio"] == 1.0
    assert "| 1,000 |" in out.with_suffix(".md").read_text()
