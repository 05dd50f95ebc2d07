"""`sentiment fidelity`: how closely students follow their teacher on validation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.helpers import TINY_MODEL_ARGS
from training.train import main as train_main

transformers = pytest.importorskip("transformers")


def test_fidelity_figures_count_agreement_and_the_probability_gap():
    from training.distill.fidelity import fidelity, softmax_positive

    labels = np.array([1, 0, 1, 0])
    teacher = np.array([0.9, 0.2, 0.4, 0.6])
    student = np.array([0.8, 0.3, 0.7, 0.1])
    figures = fidelity(student, teacher, labels)
    assert figures["validation_accuracy"] == 1.0
    assert figures["teacher_agreement"] == 0.5  # the teacher is wrong on the last two
    assert figures["mean_probability_gap"] == pytest.approx((0.1 + 0.1 + 0.3 + 0.5) / 4)
    assert softmax_positive(np.array([[0.0, 0.0], [0.0, 1000.0]])) == pytest.approx([0.5, 1.0])


def test_fidelity_cli_scores_students_against_their_teacher(teacher_dir, tiny_csv, tmp_path, capsys):
    from training.distill.fidelity import main as fidelity_main

    args = [
        "--model",
        "lstm",
        "--dataset",
        str(tiny_csv),
        "--teacher",
        str(teacher_dir),
        "--augment-copies",
        "1",
        *TINY_MODEL_ARGS,
        "--average-decay",
        "0.9",
    ]
    assert train_main([*args, "--out", str(tmp_path / "student")]) == 0
    capsys.readouterr()
    assert fidelity_main([str(tmp_path / "student"), "--teacher", str(teacher_dir)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith(f"| {tmp_path / 'student'}"))
    accuracy, agreement, gap = (float(cell) for cell in row.strip("|").split("|")[1:])
    metrics = json.loads((tmp_path / "student" / "metrics.json").read_text())
    assert accuracy == pytest.approx(metrics["validation"]["accuracy"], abs=1e-4)
    assert agreement >= 0.9 and 0 <= gap < 0.5  # the synthetic task is easy for both
    assert fidelity_main([str(tmp_path / "missing"), "--teacher", str(teacher_dir)]) == 2
    assert f"{tmp_path / 'missing'}: no metrics.json" in capsys.readouterr().err
