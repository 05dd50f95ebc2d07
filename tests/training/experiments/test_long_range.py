"""The long-range experiment: the synthetic task and a quick run that writes its JSON and plot."""

from __future__ import annotations

import json

import numpy as np

from training.experiments.long_range import main as long_range_main
from training.experiments.long_range import make_split


def test_synthetic_long_range_task_puts_the_label_in_the_first_token():
    split = make_split(50, distance=7, rng=np.random.default_rng(0))
    for ids, label in zip(split.ids, split.labels):
        assert len(ids) == 8 and ids[0] == (1 if label == 1 else 2) and min(ids[1:]) >= 3


def test_long_range_quick_run_writes_json_and_plot(tmp_path, capsys):
    assert long_range_main(["--quick", "--out", str(tmp_path / "lr")]) == 0
    result = json.loads((tmp_path / "lr.json").read_text())
    assert set(result["summary"]) == {"simple-rnn", "lstm", "gru"}
    assert (tmp_path / "lr.png").read_bytes()[:4] == b"\x89PNG"
