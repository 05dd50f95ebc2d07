"""The retrain comparison: accuracy before and after, and McNemar's test on the texts only one gets right."""

from __future__ import annotations

import json
import shutil

from benchmarks.retrain_delta import main


def test_texts_one_retrain_gets_wrong_are_counted_against_it(trained_models, tmp_path, capsys):
    after = tmp_path / "after"
    shutil.copytree(trained_models / "gru", after / "gru")
    metrics = json.loads((after / "gru" / "metrics.json").read_text())
    predictions = metrics["test"]["predictions"]
    before = json.loads((trained_models / "gru" / "metrics.json").read_text())["test"]["predictions"]
    assert main([str(trained_models), str(trained_models), "--models", "gru"]) == 0
    same = [cell.strip() for cell in capsys.readouterr().out.strip().splitlines()[2].strip("|").split("|")]
    right = [float(same[1]) * len(predictions)]
    flipped = 3
    for index in range(flipped):
        predictions[index] = 1 - predictions[index]
    (after / "gru" / "metrics.json").write_text(json.dumps(metrics))
    assert main([str(trained_models), str(after), "--models", "gru"]) == 0
    cells = [cell.strip() for cell in capsys.readouterr().out.strip().splitlines()[2].strip("|").split("|")]
    assert same[1] == same[2] and same[3:] == ["0", "0", "1.00"]
    was_right = sum(p == q for p, q in zip(before[:flipped], predictions[:flipped]))  # 0: all flipped
    assert was_right == 0 and cells[0] == "gru" and cells[1] == same[1]
    lost, gained = int(cells[3]), int(cells[4])
    assert lost + gained == flipped and round((float(cells[2]) - float(cells[1])) * len(predictions)) == gained - lost
    assert right[0] > 0
