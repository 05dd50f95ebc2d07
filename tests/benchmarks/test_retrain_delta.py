"""The retrain comparison: accuracy before and after, and McNemar's test on the texts only one gets right."""

from __future__ import annotations

import json
import shutil

from benchmarks.retrain_delta import main


def table_row(capsys) -> list[str]:
    return [cell.strip() for cell in capsys.readouterr().out.strip().splitlines()[2].strip("|").split("|")]


def test_texts_a_retrain_gets_wrong_are_counted_against_it(trained_models, tmp_path, capsys):
    assert main([str(trained_models), str(trained_models), "--models", "gru"]) == 0
    same = table_row(capsys)
    assert same[0] == "gru" and same[1] == same[2] and same[3:] == ["0", "0", "1.00"]

    after = tmp_path / "after"
    shutil.copytree(trained_models / "gru", after / "gru")
    metrics = json.loads((after / "gru" / "metrics.json").read_text())
    predictions = metrics["test"]["predictions"]
    for index in range(3):
        predictions[index] = 1 - predictions[index]  # each flipped text: right before and wrong after, or the reverse
    (after / "gru" / "metrics.json").write_text(json.dumps(metrics))
    assert main([str(trained_models), str(after), "--models", "gru"]) == 0
    changed = table_row(capsys)
    lost, gained = int(changed[3]), int(changed[4])
    assert changed[1] == same[1] and lost + gained == 3
    assert round((float(changed[2]) - float(changed[1])) * len(predictions)) == gained - lost
