"""Flags and recipe keys become the configs a run trains with."""

from __future__ import annotations

import pytest

from sentiment_app.config import preset
from training.data.embeddings import EmbeddingsError
from training.settings import model_config_from_args, resolved_settings, training_config_from_args
from training.train import parse_args
from training.trainer import TrainingConfig


def test_without_flags_a_model_is_its_preset_with_the_generic_training_defaults():
    args = parse_args(["--model", "gru"])
    assert model_config_from_args("gru", args) == preset("gru")
    assert training_config_from_args(args) == TrainingConfig()


def test_flags_change_the_preset_and_the_training_settings():
    args = parse_args(["--model", "lstm", "--hidden-dim", "32", "--pooling", "mean", "--epochs", "2", "--seed", "5"])
    config = model_config_from_args("lstm", args)
    assert (config.hidden_dim, config.pooling, config.cell) == (32, "mean", "lstm")
    training = training_config_from_args(args)
    assert (training.epochs, training.seed, training.learning_rate) == (2, 5, TrainingConfig().learning_rate)


def test_pretrained_vectors_set_the_embedding_size_and_refuse_another():
    args = parse_args(["--model", "gru", "--embeddings", "glove-50d"])
    assert model_config_from_args("gru", args).embedding_dim == 50
    with pytest.raises(EmbeddingsError, match="glove-50d has 50 dimensions"):
        model_config_from_args(
            "gru", parse_args(["--model", "gru", "--embeddings", "glove-50d", "--embedding-dim", "64"])
        )


def test_the_resolved_settings_leave_out_what_the_tokenizer_decides():
    resolved = resolved_settings(
        "bilstm", parse_args(["--model", "bilstm", "--teacher", "runs/t", "--swap-copies", "2"])
    )
    assert "vocab_size" not in resolved["model"] and "padding_id" not in resolved["model"]
    assert resolved["distillation"] == {
        "teachers": ["runs/t"],
        "augment_copies": 5,
        "swap_copies": 2,
        "calibrate_teacher": False,
    }


def test_forget_bias_flags_set_the_lstm_initialisation_and_are_recorded():
    constant = model_config_from_args("lstm", parse_args(["--model", "lstm", "--forget-bias", "2"]))
    assert (constant.forget_bias, constant.forget_bias_init) == (2.0, "constant")
    chrono = resolved_settings("lstm", parse_args(["--model", "lstm", "--chrono-init", "200"]))["model"]
    assert (chrono["forget_bias_init"], chrono["chrono_max_lag"], chrono["forget_bias"]) == ("chrono", 200, 1.0)
    assert model_config_from_args("lstm", parse_args(["--model", "lstm"])).forget_bias == 1.0


def test_a_forget_bias_flag_on_a_cell_without_a_forget_gate_is_refused():
    with pytest.raises(ValueError, match="LSTM cells only"):
        model_config_from_args("gru", parse_args(["--model", "gru", "--forget-bias", "2"]))
