"""The model card says how to train the model again, and does not claim more than is true."""

from __future__ import annotations

import dataclasses

from training.model_card import settings_note


def test_a_recipe_run_without_changes_names_the_recipe():
    note = settings_note("sentiment train --recipe gru", {"recipe": "gru", "overrides": {}, "resolved": {}})
    assert "`sentiment train --recipe gru` trains it with the same settings" in note
    assert "earlier release" not in note


def test_a_recipe_run_with_changes_lists_them_and_claims_no_reproduction():
    note = settings_note("sentiment train --recipe gru --seed 14", {"recipe": "gru", "overrides": {"seed": 14}})
    assert "Trained from the recipe `gru` with `seed = 14`" in note and "same settings" not in note


def test_a_run_without_a_recipe_points_at_the_resolved_settings():
    note = settings_note("sentiment train --model gru", {"recipe": None, "overrides": {}, "resolved": {}})
    assert note.strip() == "Every resolved setting is in `metrics.json` under `settings`."


def test_the_command_of_an_earlier_release_is_marked_as_such():
    note = settings_note("sentiment-train --models gru,lstm --teacher runs/teacher", None)
    assert "earlier release" in note
    assert settings_note("sentiment train --model gru", None) == ""


def test_the_shipped_cards_carry_hub_metadata_with_the_test_figures():
    import json

    from huggingface_hub import ModelCard

    from sentiment_app.paths import DEFAULT_MODELS_DIR

    for name in ("simple-rnn", "lstm", "bilstm", "gru", "bag-of-embeddings"):
        card = ModelCard.load(DEFAULT_MODELS_DIR / name / "README.md")
        metrics = json.loads((DEFAULT_MODELS_DIR / name / "metrics.json").read_text())
        assert (card.data.license, card.data.library_name, card.data.model_name) == ("apache-2.0", "pytorch", name)
        results = {result.metric_type: result for result in card.data.eval_results}
        assert results["accuracy"].metric_value == round(metrics["test"]["accuracy"], 4)
        assert results["f1"].metric_value == round(metrics["test"]["macro_f1"], 4)
        assert results["accuracy"].dataset_split == "test" and results["accuracy"].task_type == "text-classification"


def test_the_card_names_an_lstm_forget_bias_only_when_it_is_not_the_default():
    from sentiment_app.config import ModelDirConfig, preset
    from training.model_card import describe_architecture

    def card(**changes) -> str:
        return describe_architecture(ModelDirConfig(name="lstm", model=dataclasses.replace(preset("lstm"), **changes)))

    assert "bias" not in card()
    assert "Forget-gate bias initialised to 2." in card(forget_bias=2.0)
    assert "Chrono-initialised gate biases (Tallec & Ollivier 2018), T_max 200." in card(
        forget_bias_init="chrono", chrono_max_lag=200
    )
