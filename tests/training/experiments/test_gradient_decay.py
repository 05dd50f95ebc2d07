"""The gradient-decay command: a quick run writes every measurement with its schema, and the
shipped models' recorded gradient norms are read from their metrics.json."""

from __future__ import annotations

import json

from sentiment_app.paths import DEFAULT_MODELS_DIR
from training.experiments.gradient_decay import exploding
from training.experiments.gradient_decay import main as gradient_decay_main
from training.experiments.long_range import CELLS


def test_quick_run_writes_the_decay_of_every_cell_at_initialisation_and_trained(tmp_path):
    assert gradient_decay_main(["--quick", "--models-dir", str(tmp_path / "none"), "--out", str(tmp_path / "gd")]) == 0
    result = json.loads((tmp_path / "gd.json").read_text())
    cells = result["synthetic"]["cells"]
    assert set(cells) == set(CELLS)
    length = result["synthetic"]["sequence_length"]
    for name, entry in cells.items():
        for when in ("initial", "trained"):
            norms = entry[when]["norms"]
            assert len(norms) == length
            # d(v . h_T) / d h_T = v, of norm 1; the LSTM's state adds c_T, on which h_T depends
            assert norms[0] == 1.0 if not name.startswith("lstm") else norms[0] > 1.0
            assert 0 < entry[when]["decay_per_step"] < 2
            assert ("bound" in entry[when]) == (name == "simple-rnn")
        assert 0 <= entry["training"]["test_accuracy"] <= 1
    assert result["texts"]["models"] == {} and result["exploding"] == {}  # no models in that directory
    assert (tmp_path / "gd.png").read_bytes()[:4] == b"\x89PNG"


def test_the_shipped_gradient_norms_before_clipping_are_read_per_epoch():
    records = exploding(DEFAULT_MODELS_DIR)
    assert {"simple-rnn", "lstm", "gru"} <= set(records)
    lstm = records["lstm"]
    assert lstm["clip_norm"] == 5.0
    assert len(lstm["epochs"]) == len(lstm["mean"]) == len(lstm["max"]) > 1
    assert all(mean <= largest for mean, largest in zip(lstm["mean"], lstm["max"]))
