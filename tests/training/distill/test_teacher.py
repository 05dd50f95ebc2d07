"""`sentiment teacher`: a fine-tuned teacher directory, and clear errors for a missing or broken one."""

from __future__ import annotations

import json

import pytest

from tests.helpers import TINY_MODEL_ARGS
from training.train import main as train_main

transformers = pytest.importorskip("transformers")


def test_teacher_cli_fine_tunes_and_writes_a_teacher_directory(teacher_dir, tiny_csv):
    assert {p.name for p in teacher_dir.iterdir()} >= {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "teacher.json",
    }
    record = json.loads((teacher_dir / "teacher.json").read_text())
    assert [row["epoch"] for row in record["history"]] == [1, 2, 3]
    assert record["validation_accuracy"] == max(r["validation_accuracy"] for r in record["history"])
    assert record["validation_accuracy"] >= 0.9  # the synthetic task is easy
    assert record["dataset"]["fingerprint"] and record["command"].startswith("sentiment teacher")


def test_a_missing_or_broken_teacher_is_named(teacher_dir, tiny_csv, tmp_path, capsys):
    code = train_main(
        [
            "--model",
            "lstm",
            "--dataset",
            str(tiny_csv),
            "--teacher",
            str(tmp_path / "nowhere"),
            "--out",
            str(tmp_path / "m"),
            *TINY_MODEL_ARGS,
        ]
    )
    assert code == 2 and "nowhere" in capsys.readouterr().err
    broken = tmp_path / "broken"
    broken.mkdir()
    # a record that matches the data, but no tokenizer or weights beside it
    (broken / "teacher.json").write_text((teacher_dir / "teacher.json").read_text())
    code = train_main(
        [
            "--model",
            "lstm",
            "--dataset",
            str(tiny_csv),
            "--teacher",
            str(broken),
            "--out",
            str(tmp_path / "m"),
            *TINY_MODEL_ARGS,
        ]
    )
    assert code == 2 and "tokenizer.json" in capsys.readouterr().err
