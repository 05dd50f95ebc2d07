"""The behavioural table: one row per model directory, each figure a share of the checks' cases."""

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
