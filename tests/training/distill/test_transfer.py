"""Students distilled from a teacher: soft targets, cached logits, ensembles, calibration, swapped copies."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from sentiment_app.inference.predictor import load_predictor
from tests.helpers import TINY_MODEL_ARGS, synthetic_reviews
from training.data.sources import load_splits
from training.distill.augment import AugmentSettings, transfer_texts
from training.distill.teacher import main as teacher_main
from training.distill.teacher import transfer_key
from training.train import main as train_main
from training.trainer import EncodedSplit, Trainer, TrainingConfig

transformers = pytest.importorskip("transformers")


def test_soft_targets_replace_the_labels_in_training():
    """A teacher that contradicts every label wins: the model learns the soft targets."""
    rows = synthetic_reviews(200, seed=3)
    vocabulary = {word: index + 2 for index, word in enumerate(sorted({w for t, _ in rows for w in t.split()}))}
    id_lists = [[vocabulary[w] for w in text.split()] for text, _ in rows]
    labels = [label for _, label in rows]
    flipped = np.array([[4.0, -4.0] if label else [-4.0, 4.0] for label in labels], dtype=np.float32)

    from sentiment_app.config import preset
    from sentiment_app.models.classifiers import build_model

    torch.manual_seed(0)
    model = build_model(
        dataclasses.replace(
            preset("lstm"), vocab_size=len(vocabulary) + 2, embedding_dim=16, hidden_dim=16, dropout=0.0
        )
    )
    train = EncodedSplit(id_lists, labels, soft_targets=flipped)
    validation = EncodedSplit(id_lists[:50], [1 - y for y in labels[:50]])
    trainer = Trainer(
        model,
        TrainingConfig(epochs=6, learning_rate=0.01, batch_size=16, patience=6),
        train,
        validation,
        padding_id=0,
        label_names=["negative", "positive"],
        show_progress=False,
    )
    state = trainer.fit(log=lambda message: None)
    assert state.best_accuracy > 0.9  # against the flipped labels


def test_student_learns_from_the_teacher_and_reuses_its_logits(teacher_dir, tiny_csv, tmp_path, capsys):
    args = [
        "--model",
        "lstm",
        "--dataset",
        str(tiny_csv),
        "--teacher",
        str(teacher_dir),
        "--augment-copies",
        "2",
        *[a for a in TINY_MODEL_ARGS if a != "--quiet"],
        "--average-decay",
        "0.9",
        "--pooling",
        "max",
    ]  # the settings the shipped distilled models use (averaging over fewer steps: the run is tiny)
    assert train_main([*args, "--out", str(tmp_path / "first")]) == 0
    metrics = json.loads((tmp_path / "first" / "metrics.json").read_text())
    distillation = metrics["distillation"]
    assert distillation["transfer_texts"] == 3 * metrics["dataset"]["sizes"]["train"]
    assert distillation["augmentation"]["copies"] == 2
    assert metrics["test"]["accuracy"] >= 0.9
    assert "Distillation:" in (tmp_path / "first" / "README.md").read_text()
    assert len(list(teacher_dir.glob("transfer-*.npy"))) == 1
    predictor = load_predictor(tmp_path / "first")
    assert predictor.predict(["the film is wonderful"])[0].label == "positive"

    capsys.readouterr()
    assert train_main([*args, "--out", str(tmp_path / "second")]) == 0
    assert "teacher logits for" in capsys.readouterr().out  # scored once, read from the cache
    second = json.loads((tmp_path / "second" / "metrics.json").read_text())
    assert second["test"]["accuracy"] == metrics["test"]["accuracy"]


def test_a_teacher_from_another_split_is_refused(teacher_dir, tiny_csv, tmp_path, capsys):
    code = train_main(
        [
            "--model",
            "lstm",
            "--dataset",
            str(tiny_csv),
            "--split-seed",
            "14",
            "--teacher",
            str(teacher_dir),
            "--out",
            str(tmp_path / "m"),
            *TINY_MODEL_ARGS,
        ]
    )
    assert code == 2
    assert "split" in capsys.readouterr().err and not (tmp_path / "m").exists()


def test_an_ensemble_of_teachers_averages_their_logits(teacher_dir, tiny_bert, tiny_csv, tmp_path):
    second = tmp_path / "second-teacher"
    assert (
        teacher_main(
            [
                "--base",
                str(tiny_bert),
                "--dataset",
                str(tiny_csv),
                "--epochs",
                "1",
                "--seed",
                "5",
                "--out",
                str(second),
                "--quiet",
            ]
        )
        == 0
    )
    args = ["--model", "lstm", "--dataset", str(tiny_csv), "--augment-copies", "1", *TINY_MODEL_ARGS]
    assert (
        train_main([*args, "--teacher", str(teacher_dir), "--teacher", str(second), "--out", str(tmp_path / "student")])
        == 0
    )
    distillation = json.loads((tmp_path / "student" / "metrics.json").read_text())["distillation"]
    assert distillation["teacher_directories"] == [str(teacher_dir), str(second)]
    assert len(distillation["ensemble_members_validation_accuracy"]) == 2
    assert 0.0 <= distillation["teacher_validation_accuracy"] <= 1.0
    assert "ensemble of 2 teachers" in (tmp_path / "student" / "README.md").read_text()
    # the ensemble's validation accuracy is that of the two teachers' averaged logits
    validation = load_splits(str(tiny_csv)).validation
    key = transfer_key(list(validation["text"]))
    averaged = (np.load(teacher_dir / f"transfer-{key}.npy") + np.load(second / f"transfer-{key}.npy")) / 2
    expected = np.mean(averaged.argmax(axis=1) == np.asarray(validation["label"]))
    assert distillation["teacher_validation_accuracy"] == pytest.approx(expected)


def test_a_calibrated_teacher_teaches_its_logits_divided_by_the_validation_temperature(
    teacher_dir, tiny_csv, tmp_path, monkeypatch
):
    """The teacher's validation logits are replaced by overconfident ones (right 80% of the time
    with odds of e^10), so the fitted temperature is well above 1."""
    import shutil

    from training.evaluation.calibration import fit_temperature

    teacher = shutil.copytree(teacher_dir, tmp_path / "teacher")
    splits = load_splits(str(tiny_csv))
    labels = np.asarray(splits.validation["label"])
    right = np.random.default_rng(0).random(len(labels)) < 0.8
    shown = np.where(right, labels, 1 - labels)
    overconfident = np.stack([np.where(shown == 0, 5.0, -5.0), np.where(shown == 1, 5.0, -5.0)], axis=1)
    np.save(teacher / f"transfer-{transfer_key(list(splits.validation['text']))}.npy", overconfident.astype(np.float32))
    temperature = fit_temperature(overconfident, labels)
    assert temperature > 3

    taught = []
    original_fit = Trainer.fit
    monkeypatch.setattr(
        Trainer,
        "fit",
        lambda self, *a, **k: taught.append(self.train_split.soft_targets) or original_fit(self, *a, **k),
    )
    assert (
        train_main(
            [
                "--model",
                "lstm",
                "--dataset",
                str(tiny_csv),
                "--augment-copies",
                "1",
                *TINY_MODEL_ARGS,
                "--teacher",
                str(teacher),
                "--calibrate-teacher",
                "--out",
                str(tmp_path / "student"),
            ]
        )
        == 0
    )
    distillation = json.loads((tmp_path / "student" / "metrics.json").read_text())["distillation"]
    assert distillation["calibration_temperatures"] == [pytest.approx(temperature, abs=1e-4)]
    texts = transfer_texts(list(splits.train["text"]), AugmentSettings(copies=1, seed=13))
    raw = np.load(teacher / f"transfer-{transfer_key(texts)}.npy")
    np.testing.assert_allclose(taught[0], raw / distillation["calibration_temperatures"][0], rtol=1e-4)
    assert "temperature scaling" in (tmp_path / "student" / "README.md").read_text()


def test_calibrate_teacher_needs_a_teacher(capsys):
    with pytest.raises(SystemExit):
        train_main(["--model", "lstm", "--calibrate-teacher"])
    assert "--calibrate-teacher needs --teacher" in capsys.readouterr().err


def test_swapped_copies_join_the_transfer_set_and_the_other_copies_keep_their_cache(
    teacher_dir, tiny_csv, tmp_path, monkeypatch
):
    """--swap-copies: words swapped for word-vector neighbours (stand-in vectors here: GloVe is a
    download), scored by the teacher apart from the other copies."""
    import training.context as context_module
    from tests.helpers import NEGATIVE_WORDS, POSITIVE_WORDS
    from training.data.embeddings import WordVectors

    words = [*POSITIVE_WORDS, *NEGATIVE_WORDS]
    rng = np.random.default_rng(0)
    vectors = WordVectors(
        matrix=rng.standard_normal((len(words), 4)).astype(np.float32),
        row_of=lambda w: words.index(w) if w in words else None,
    )
    monkeypatch.setattr(context_module, "load_vectors", lambda name: vectors)
    base = [
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
    assert train_main([*base, "--out", str(tmp_path / "plain")]) == 0
    caches = set(teacher_dir.glob("transfer-*.npy"))
    assert train_main([*base, "--swap-copies", "2", "--out", str(tmp_path / "swapped")]) == 0
    metrics = json.loads((tmp_path / "swapped" / "metrics.json").read_text())
    assert metrics["distillation"]["transfer_texts"] == 4 * metrics["dataset"]["sizes"]["train"]
    assert metrics["distillation"]["augmentation"]["swap_copies"] == 2
    assert len(set(teacher_dir.glob("transfer-*.npy")) - caches) == 1  # only the swapped part is new
    assert "nearest GloVe neighbours" in (tmp_path / "swapped" / "README.md").read_text()
    with pytest.raises(SystemExit):
        train_main([*base, "--swap-copies", "-1", "--out", str(tmp_path / "bad")])


def test_swap_copies_need_a_teacher(tiny_csv, capsys):
    with pytest.raises(SystemExit):
        train_main(["--model", "lstm", "--dataset", str(tiny_csv), "--swap-copies", "2", *TINY_MODEL_ARGS])
    assert "--swap-copies needs --teacher" in capsys.readouterr().err


def test_counterfactual_copies_join_the_transfer_set_and_are_recorded(teacher_dir, tiny_csv, tmp_path):
    base = ["--model", "lstm", "--dataset", str(tiny_csv), "--teacher", str(teacher_dir), "--augment-copies", "1"]
    out = tmp_path / "counterfactual"
    assert train_main([*base, *TINY_MODEL_ARGS, "--counterfactuals", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    train_size = metrics["dataset"]["sizes"]["train"]
    recorded = metrics["distillation"]["counterfactuals"]
    assert recorded["misspelt"] == recorded["settings"]["misspelt_copies"] * train_size
    copies = sum(recorded.get(kind, 0) for kind in ("plain", "negated", "intensified", "contrasts", "misspelt"))
    assert metrics["distillation"]["transfer_texts"] == 2 * train_size + copies
    assert metrics["distillation"]["augmentation"]["counterfactuals"] is True
    assert metrics["settings"]["resolved"]["distillation"]["counterfactuals"] is True
    assert "counterfactual" in (out / "README.md").read_text()


def test_counterfactuals_need_a_teacher(tiny_csv, capsys):
    with pytest.raises(SystemExit):
        train_main(["--model", "lstm", "--dataset", str(tiny_csv), "--counterfactuals", *TINY_MODEL_ARGS])
    assert "--counterfactuals needs --teacher" in capsys.readouterr().err
