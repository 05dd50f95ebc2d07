"""`sentiment tune`: selection on validation only, its tables, and the size budget."""

from __future__ import annotations

import json

import pytest


def test_tuning_selects_on_validation_and_writes_its_table(tmp_path, tiny_csv, monkeypatch):
    from training.experiments import tune

    monkeypatch.setitem(tune.GRIDS, "gru", {"--hidden-dim": [8, 16]})
    extra = "--epochs 2 --embedding-dim 8 --vocab-size 200 --min-frequency 1"
    assert (
        tune.main(
            ["--model", "gru", "--seeds", "2", "--dataset", str(tiny_csv), "--out", str(tmp_path), "--extra", extra]
        )
        == 0
    )
    result = json.loads((tmp_path / "gru.json").read_text())
    means = [row["mean_validation_accuracy"] for row in result["rows"]]
    assert means == sorted(means, reverse=True) and len(result["rows"]) == 2
    assert result["selected"] == result["rows"][0]["configuration"]
    assert "--skip-test" in result["base_flags"]
    assert "test" not in json.dumps(result["rows"])
    assert "| rank |" in (tmp_path / "gru.md").read_text()


def test_distilled_grid_writes_its_own_table_and_refuses_models_it_lacks(tmp_path, tiny_csv, monkeypatch):
    from training.experiments import tune

    monkeypatch.setitem(tune.DISTILLED_GRIDS, "gru", {"--average-decay": [0.0, 0.9]})
    extra = "--epochs 2 --embedding-dim 8 --vocab-size 200 --min-frequency 1"
    assert (
        tune.main(
            [
                "--model",
                "gru",
                "--grid",
                "distilled",
                "--seeds",
                "1",
                "--dataset",
                str(tiny_csv),
                "--out",
                str(tmp_path),
                "--extra",
                extra,
            ]
        )
        == 0
    )
    result = json.loads((tmp_path / "gru-distilled.json").read_text())
    assert {row["configuration"]["--average-decay"] for row in result["rows"]} == {0.0, 0.9}
    assert not (tmp_path / "gru.json").exists()  # the plain grid's table is left alone
    monkeypatch.delitem(tune.DISTILLED_GRIDS, "gru")
    with pytest.raises(SystemExit):  # refused before any training
        tune.main(["--model", "gru", "--grid", "distilled", "--out", str(tmp_path)])


def test_tuning_puts_configurations_over_the_size_budget_last(tmp_path):
    from training.experiments import tune

    rows = [
        {
            "configuration": {"--hidden-dim": 512},
            "runs": [{"validation_accuracy": 0.9, "best_epoch": 1}],
            "mean_validation_accuracy": 0.9,
        },
        {
            "configuration": {"--hidden-dim": 8},
            "runs": [{"validation_accuracy": 0.7, "best_epoch": 1}],
            "mean_validation_accuracy": 0.7,
        },
    ]
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps({"rows": rows, "base_flags": ["--vocab-size", "200"], "command": "c"}))
    assert tune.main(["--model", "gru", "--from-json", str(earlier), "--out", str(tmp_path), "--max-size-mb", "2"]) == 0
    result = json.loads((tmp_path / "gru.json").read_text())
    assert result["selected"] == {"--hidden-dim": 8}
    assert result["rows"][1]["estimated_size_mb"] > 2 > result["rows"][0]["estimated_size_mb"]
    assert "(over budget)" in (tmp_path / "gru.md").read_text()
