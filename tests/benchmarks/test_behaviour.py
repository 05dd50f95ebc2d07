"""The behavioural table and the retrain comparison: one row per model directory."""

from __future__ import annotations

from benchmarks.behaviour import main
from training.evaluation.behaviour import all_checks


def test_a_row_per_model_with_every_check(tiny_model_dir, trained_models, capsys):
    assert main([str(tiny_model_dir), str(trained_models / "gru")]) == 0
    header, rule, *rows = capsys.readouterr().out.strip().splitlines()
    names = [check.name for check in all_checks()]
    assert header.split(" | ")[4:] == [*names[:-1], names[-1] + " |"]
    assert [r.split(" | ")[0] for r in rows] == ["| bilstm", "| gru"]
    for line in rows:
        cells = [cell.strip() for cell in line.strip("|").split("|")][1:]
        assert len(cells) == 3 + len(names) and all(cell.endswith("%") for cell in cells)
        assert all(0 <= float(cell[:-1]) <= 100 for cell in cells)


def test_a_retrain_compared_with_itself_changes_nothing(trained_models, capsys):
    from benchmarks.retrain_delta import main as delta_main

    assert delta_main([str(trained_models), str(trained_models), "--models", "lstm,gru"]) == 0
    rows = capsys.readouterr().out.strip().splitlines()[2:]
    for name, line in zip(("lstm", "gru"), rows):
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert cells[0] == name and cells[1] == cells[2] and cells[3:] == ["0", "0", "1.00"]
