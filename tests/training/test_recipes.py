"""Recipes: each shipped model's file resolves to the settings it was trained with, flags override
a recipe, and a bad recipe is refused with a message naming the file."""

from __future__ import annotations

import json

import pytest

from sentiment_app.config import ModelConfig
from sentiment_app.paths import DEFAULT_MODELS_DIR
from training.distill.augment import AugmentSettings
from training.recipes import RecipeError, available_recipes, read_recipe, recipe_path
from training.settings import resolved_settings
from training.train import main, parse_args

SHIPPED = ["simple-rnn", "lstm", "bilstm", "gru", "bag-of-embeddings"]
# fields added after the shipped models were trained, at the defaults those models were built with
NEW_MODEL_FIELDS = {"forget_bias": 1.0, "forget_bias_init": "constant", "chrono_max_lag": 0}


def test_every_shipped_model_has_a_recipe():
    assert set(SHIPPED) <= set(available_recipes())


@pytest.mark.parametrize("name", SHIPPED)
def test_the_recipe_resolves_to_the_settings_the_shipped_model_was_trained_with(name):
    directory = DEFAULT_MODELS_DIR / name
    config = json.loads((directory / "config.json").read_text())
    metrics = json.loads((directory / "metrics.json").read_text())
    settings = resolved_settings(name, parse_args(["--recipe", name]))
    # the shipped configs predate the forget-bias fields, which load as their defaults
    shipped_model = {
        key: value
        for key, value in ModelConfig.from_dict(config["model"]).to_dict().items()
        if key not in ("vocab_size", "padding_id")
    }
    assert settings["model"] == shipped_model
    assert settings["tokenizer"] == config["tokenizer"]
    assert settings["embeddings"]["source"] == config["embeddings"]["name"]
    assert settings["weights_dtype"] == config["weights_dtype"]
    training = dict(settings["training"])
    candidates, first_seed = training.pop("candidates"), training.pop("seed")
    recorded = dict(metrics["training"])
    recorded_seed = recorded.pop("seed")
    assert {key: value for key, value in training.items() if key in recorded} == recorded
    assert training.get("precision") == recorded.get("precision", "float32")
    assert candidates == len(metrics["candidates"] or [None])
    assert first_seed <= recorded_seed < first_seed + candidates  # the candidate kept
    assert (settings["data"]["dataset"], settings["data"]["split_seed"]) == (
        metrics["dataset"]["name"],
        metrics["dataset"]["split_seed"],
    )
    augmentation = metrics["distillation"]["augmentation"]
    resolved = AugmentSettings(
        copies=settings["distillation"]["augment_copies"],
        swap_copies=settings["distillation"]["swap_copies"],
        counterfactuals=settings["distillation"].get("counterfactuals", False),
        seed=settings["data"]["split_seed"],
    ).to_dict()
    assert {key: resolved[key] for key in augmentation} == augmentation  # older runs lack swap_copies
    assert resolved["swap_copies"] == augmentation.get("swap_copies", 0)
    assert settings["distillation"]["teachers"] == metrics["distillation"]["teacher_directories"]
    recorded_settings = metrics["settings"]
    recorded_settings["resolved"]["model"] = {**NEW_MODEL_FIELDS, **recorded_settings["resolved"]["model"]}
    assert recorded_settings == {
        "recipe": name,
        "overrides": {},
        "resolved": settings,
    }  # what the shipped directory records


def test_flags_override_the_recipe_and_a_teacher_flag_replaces_the_recipes_list():
    args = parse_args(["--recipe", "bilstm", "--seed", "21", "--learning-rate", "0.01", "--teacher", "t1"])
    assert (args.seed, args.learning_rate, [str(t) for t in args.teacher]) == (21, 0.01, ["t1"])
    assert args.swap_copies == 5 and args.token_dropout == 0.2  # the rest is the recipe's
    twice = parse_args(["--recipe", "bilstm", "--teacher", "a", "--teacher", "b"])
    assert [str(t) for t in twice.teacher] == ["a", "b"]


def test_flags_that_change_the_recipe_are_recorded_and_can_switch_its_parts_off():
    args = parse_args(["--recipe", "bilstm", "--seed", "13", "--learning-rate", "0.01", "--no-freeze-embeddings"])
    assert args.recipe_overrides == {"learning_rate": 0.01}  # the same seed and flag value change nothing
    plain = parse_args(["--recipe", "bilstm", "--no-teacher", "--embeddings", "none"])
    assert plain.teacher is None and plain.embeddings is None
    assert plain.swap_copies == 0 and not plain.counterfactuals and not plain.calibrate_teacher  # they need a teacher
    assert set(plain.recipe_overrides) == {"teacher", "embeddings", "swap_copies", "counterfactuals"}
    assert resolved_settings("bilstm", plain)["distillation"] is None


def test_a_recipe_file_by_path_and_its_errors(tmp_path, capsys):
    good = tmp_path / "mine.toml"
    good.write_text('model = "gru"\n[training]\nepochs = 2\nclip_norm = 1\n')
    args = parse_args(["--recipe", str(good)])
    assert (args.model_names, args.epochs, args.clip_norm) == (["gru"], 2, 1.0)
    cases = {
        "unknown.toml": ('colour = "red"\n', "unknown setting 'colour'"),
        "type.toml": ('[training]\nepochs = "many"\n', "epochs"),
        "fraction.toml": ("[training]\nepochs = 2.5\n", "whole number"),
        "choice.toml": ('[architecture]\npooling = "median"\n', "'median' is not one of"),
        "twice.toml": ("seed = 1\n[training]\nseed = 2\n", "'seed' is set twice"),
        "broken.toml": ("seed = = 1\n", "unreadable recipe"),
        "models.toml": ('models = "lstm,gru"\n', "unknown setting 'models'"),
        "untyped.toml": ("model = 5\n", "expected a string"),
    }
    for file_name, (text, message) in cases.items():
        (tmp_path / file_name).write_text(text)
        with pytest.raises(SystemExit):
            parse_args(["--recipe", str(tmp_path / file_name)])
        error = capsys.readouterr().err
        assert message in error and file_name in error, error
    with pytest.raises(RecipeError, match="shipped recipes: .*bilstm"):
        recipe_path("nonesuch")
    with pytest.raises(SystemExit):
        parse_args(["--recipe", "bilstm", "--models", "lstm,gru"])
    assert "drop --models" in capsys.readouterr().err


def test_dry_run_prints_the_resolved_settings_and_trains_nothing(tmp_path, capsys):
    assert main(["--recipe", "lstm", "--dry-run", "--out", str(tmp_path / "out")]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["recipe"] == "lstm" and printed["overrides"] == {}  # --out is not a recipe key
    resolved = printed["resolved"]
    assert resolved["model_name"] == "lstm" and resolved["training"]["learning_rate"] == 0.002
    assert resolved["distillation"]["teachers"] == ["runs/teacher"]
    assert not (tmp_path / "out").exists()


def test_recipe_tables_only_group_the_keys():
    settings = read_recipe(recipe_path("bilstm"))
    assert settings["model"] == "bilstm" and settings["swap_copies"] == 5 and settings["candidates"] == 4
