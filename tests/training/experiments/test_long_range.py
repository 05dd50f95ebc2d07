"""The long-range experiment: the synthetic task, the cells it compares and a quick run's JSON and plot."""

from __future__ import annotations

import json

import numpy as np
import pytest

from training.experiments.long_range import CELLS, Budget, curriculum_stages, make_sequences, model_config
from training.experiments.long_range import main as long_range_main

RUN_FIELDS = {"cell", "forget_bias", "distance", "seed", "test_accuracy", "epochs", "seconds", "sequences_seen"}


def test_synthetic_long_range_task_puts_the_label_in_the_first_token():
    ids, labels = make_sequences(50, distance=7, rng=np.random.default_rng(0))
    assert ids.shape == (50, 8)
    assert ids[:, 0].tolist() == [1 if label == 1 else 2 for label in labels.tolist()]
    assert int(ids[:, 1:].min()) >= 3
    assert 10 < int(labels.sum()) < 40  # both labels drawn


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("lstm-bias-0", ("constant", 0.0, 0)),
        ("lstm-bias-1", ("constant", 1.0, 0)),
        ("lstm-chrono", ("chrono", 1.0, 101)),
    ],
)
def test_the_lstm_cells_differ_only_in_their_forget_gate_settings(cell, expected):
    config = model_config(cell, 100, Budget())
    assert (config.forget_bias_init, config.forget_bias, config.chrono_max_lag) == expected
    assert (config.cell, config.hidden_dim, config.dropout) == ("lstm", 32, 0.0)


def test_a_curriculum_trains_the_shorter_default_distances_first():
    assert curriculum_stages(100, curriculum=True) == [5, 10, 20, 50, 100]
    assert curriculum_stages(100, curriculum=False) == [100]


def test_long_range_quick_run_records_every_run_with_its_settings(tmp_path):
    assert long_range_main(["--quick", "--out", str(tmp_path / "lr")]) == 0
    result = json.loads((tmp_path / "lr.json").read_text())
    assert set(result["summary"]) == set(CELLS)
    distances, seeds = result["settings"]["distances"], result["settings"]["seeds"]
    assert len(result["runs"]) == len(CELLS) * len(distances) * seeds
    assert all(RUN_FIELDS <= set(run) for run in result["runs"])
    chrono = next(run for run in result["runs"] if run["cell"] == "lstm-chrono")
    assert chrono["forget_bias"] == {"init": "chrono", "chrono_max_lag": chrono["distance"] + 1}
    cell = result["summary"]["gru"][str(distances[0])]
    assert cell["min"] <= cell["mean"] <= cell["max"] and len(cell["seeds"]) == seeds
    assert result["settings"]["command"] == f"sentiment long-range --quick --out {tmp_path / 'lr'}"
    assert (tmp_path / "lr.png").read_bytes()[:4] == b"\x89PNG"


def test_an_unknown_cell_is_refused_with_the_valid_ones(capsys):
    with pytest.raises(SystemExit):
        long_range_main(["--quick", "--cells", "lstm,transformer"])
    assert "simple-rnn, lstm-bias-0" in capsys.readouterr().err
