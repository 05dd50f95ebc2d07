"""The README.md model card written into every model directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sentiment_app.config import ModelDirConfig
from training.distill.neighbours import NEIGHBOUR_COUNT
from training.trainer import averaging_horizon

CELL_NAMES = {"rnn": "Elman RNN (SimpleRNN)", "lstm": "LSTM", "gru": "GRU"}


def describe_architecture(config: ModelDirConfig) -> str:
    model = config.model
    if model.architecture == "bag-of-embeddings":
        return (
            f"Bag of embeddings: {model.embedding_dim}-dim token embeddings, {model.pooling} "
            f"over the text (word order ignored), a {model.hidden_dim}-unit ReLU layer, "
            f"then {len(model.labels)} logits."
        )
    direction = "bidirectional" if model.bidirectional else "left-to-right"
    pooled = {
        "last": "the final hidden state of each direction",
        "max": "the element-wise max of the hidden states over the text",
        "mean": "the mean of the hidden states over the text",
    }[model.pooling]
    return (
        f"{CELL_NAMES[model.cell]}, {direction}, {model.num_layers} layer(s) of "
        f"{model.hidden_dim} units per direction over {model.embedding_dim}-dim embeddings; "
        f"the classifier reads {pooled}. Dropout {model.dropout}.{forget_gate_note(model)}"
    )


def forget_gate_note(model) -> str:
    """How an LSTM's forget-gate bias started, when not at the default of 1 (else nothing)."""
    if model.cell != "lstm":
        return ""
    if model.forget_bias_init == "chrono":
        return f" Chrono-initialised gate biases (Tallec & Ollivier 2018), T_max {model.chrono_max_lag}."
    return "" if model.forget_bias == 1.0 else f" Forget-gate bias initialised to {model.forget_bias:g}."


def interval(values) -> str:
    return f"{values[0]:.4f} – {values[1]:.4f}" if values else ""


def reference_line(reference) -> str:
    if not reference:
        return ""
    test = reference["mcnemar_model_vs_reference"]
    return (
        f"| TF-IDF + logistic regression (same split) | | {reference['test_accuracy']:.4f} "
        f"| {interval(reference['accuracy_ci95'])} | |\n\nMcNemar's exact test against that "
        f"reference: this model alone right on {test['only_first_correct']} test texts, the "
        f"reference alone on {test['only_second_correct']}; p = {test['p_value']:.3g}.\n"
    )


def agreement_line(check, compared: str, bar: str) -> str:
    """A faster backend's check against eager float32 PyTorch, in a sentence ("" if not run)."""
    if not check:
        return ""
    verdict = "passes" if check["passed"] else "fails"
    return (
        f"\n{compared}: {check['label_agreement']:.2%} of labels agree, probabilities differ by "
        f"at most {check['max_probability_difference']:.2g}; this {verdict} {bar}.\n"
    )


def onnx_line(onnx) -> str:
    if not onnx:
        return ""
    return agreement_line(
        onnx,
        f"ONNX Runtime against eager PyTorch on the {onnx['texts']:,} test texts",
        "the bar (99.5%, 0.02) for the predictor to use the faster ONNX backend",
    )


def bfloat16_line(check) -> str:
    return agreement_line(
        check,
        'bfloat16 scoring (opt-in, `backend="bfloat16"`) against float32 PyTorch on the same texts',
        "the same bar",
    )


def behaviour_section(behaviour) -> str:
    if not behaviour:
        return ""
    rows = "\n".join(
        f"| {c['capability']} | {c['kind']} | {c['cases']} | {c['pass_rate']:.0%} |" for c in behaviour["checks"]
    )
    halves = behaviour.get("halves")
    split = (
        f" By half (cut by a hash of each case): {halves['tuning']:.1%} on the half that may guide "
        f"choices, {halves['held_apart']:.1%} on the held-apart half that none may look at."
        if halves
        else ""
    )
    return (
        f"\n### Behavioural checks\n\nHand-written cases in the spirit of CheckList, never "
        f"trained on; {behaviour['pass_rate']:.1%} of {behaviour['cases']} passed.{split}\n\n"
        f"| capability | kind | cases | passed |\n|---|---|---|---|\n{rows}\n"
    )


def calibration_section(calibration: dict[str, Any] | None, familiarity: dict[str, Any] | None) -> str:
    """Temperature, unsure band and ECE (from `sentiment calibrate`), and the familiarity flag rates."""
    if not calibration:
        return ""
    band = calibration["unsure_below"]
    lean = (
        f'Answers below {band:.0%} confidence are given as a lean ("leans positive, 58%"): '
        f"{calibration['unsure_rule']}; {calibration['test_unsure_share']:.1%} of the test answers are."
        if band > 0.5
        else "No confidence band was less accurate than 60% on validation, so every answer is a verdict."
    )
    flags = (
        f"\n\nThe familiarity check (not English, mostly unknown tokens, too short) flags "
        f"{familiarity['test_flag_rate']:.2%} of the test split and "
        f"{familiarity['out_of_distribution_flag_rate']:.1%} of {familiarity['out_of_distribution_texts']} written "
        "non-English, gibberish and emoji-only texts."
        if familiarity
        else ""
    )
    return (
        f"\n### Calibration\n\nProbabilities are the logits divided by a temperature of "
        f"{calibration['temperature']:.3f}, fitted on the validation split (config.json; every backend "
        f"applies it). Expected calibration error on the test split ({calibration['bins']} bins): "
        f"{calibration['test_ece_before']:.4f} before, {calibration['test_ece_after']:.4f} after. {lean}{flags}\n"
    )


def distillation_line(distillation: dict[str, Any] | None) -> str:
    if not distillation:
        return ""
    augmentation = distillation["augmentation"]
    teachers = len(distillation["teacher_directories"])
    teacher = (
        f"a teacher, {distillation['teacher']}"
        if teachers == 1
        else f"an ensemble of {teachers} teachers (their logits averaged), {distillation['teacher']},"
    )
    return (
        f"- **Distillation:** learned the probabilities of {teacher} "
        f"fine-tuned on the same training split (validation accuracy "
        f"{distillation['teacher_validation_accuracy']:.4f}), on {distillation['transfer_texts']:,} "
        f"texts: the training texts and {augmentation['copies']} perturbed copies of each "
        f"(words masked with probability {augmentation['mask_probability']}, n-gram sampling "
        f"with probability {augmentation['ngram_probability']}){swap_note(augmentation)}"
        f"{counterfactual_note(distillation)}; "
        f"temperature {distillation['temperature']}{calibration_note(distillation)}\n"
    )


def swap_note(augmentation: dict[str, Any]) -> str:
    copies = augmentation.get("swap_copies", 0)
    if not copies:
        return ""
    return (
        f", and {copies} more in which each word also became one of its {NEIGHBOUR_COUNT} nearest GloVe "
        f"neighbours with probability {augmentation['swap_probability']}"
    )


def counterfactual_note(distillation: dict[str, Any]) -> str:
    counts = distillation.get("counterfactuals")
    if not counts:
        return ""
    return (
        f", and counterfactual copies (training/distill/counterfactual.py): {counts.get('clauses', 0):,} "
        "short clauses recombined from the training texts' subjects and predicates, with "
        f"{counts.get('negated', 0):,} negations (the teacher's target mirrored), "
        f"{counts.get('intensified', 0):,} intensified clauses (sharpened) and "
        f'{counts.get("contrasts", 0):,} contrasts ("A, yet B": B\'s target), and '
        f"{counts.get('misspelt', 0):,} copies of training texts with misspelt words (their own target)"
    )


def calibration_note(distillation: dict[str, Any]) -> str:
    temperatures = distillation.get("calibration_temperatures")
    if not temperatures:
        return ""
    return (
        f"; the teacher's logits were first divided by {', '.join(f'{t:.2f}' for t in temperatures)} "
        "(temperature scaling fitted on the validation split, which softens its probabilities "
        "without changing its labels)"
    )


def render_tuning_card(config: ModelDirConfig, metrics: dict[str, Any]) -> str:
    """A short card for a run made with --skip-test (a tuning run: not for use)."""
    return (
        f"# {config.name} (tuning run)\n\n{describe_architecture(config)}\n\nValidation "
        f"accuracy {metrics['validation']['accuracy']:.4f}; the test split was not evaluated.\n\n"
        f"```bash\n{metrics['command']}\n```\n"
    )


def candidates_note(candidates: list[dict[str, Any]] | None) -> str:
    """One sentence on the seeds tried with --candidates, or nothing."""
    if not candidates:
        return ""
    tried = ", ".join(f"{c['seed']}: {c['validation_accuracy']:.4f}" for c in candidates)
    seconds = sum(c["training_seconds"] for c in candidates)
    return (
        f" The run trained {len(candidates)} candidates ({seconds:,.0f} s in all) and kept the one "
        f"with the best validation accuracy (seed: validation accuracy {tried}); the test split "
        "was evaluated on that one only."
    )


def averaging_note(training: dict[str, Any]) -> str:
    decay = training.get("average_decay") or 0
    if not decay:
        return ""
    return (
        f" Validation, early stopping and the saved weights use an exponential moving average of"
        f" the weights (decay {decay} per step, about the last {averaging_horizon(decay):,.0f} steps)."
    )


def adversarial_note(training: dict[str, Any]) -> str:
    epsilon = training.get("adversarial_epsilon") or 0
    if not epsilon:
        return ""
    return (
        f" Each step also learned from the batch with its embeddings moved {epsilon} (L2 norm per"
        " text) along the loss gradient (adversarial training, Miyato et al. 2017)."
    )


def precision_note(training: dict[str, Any]) -> str:
    if training.get("precision", "float32") == "float32":
        return ""
    return (
        f" The training passes ran in {training['precision']} mixed precision (the weights,"
        " Adam and the loss stayed float32)."
    )


def settings_note(command: str, record: dict[str, Any] | None) -> str:
    """How to train the model again: its recipe, and what the command changed in it."""
    recipe, overrides = (record or {}).get("recipe"), (record or {}).get("overrides") or {}
    sentences = []
    if recipe and overrides:
        changed = ", ".join(f"`{key} = {value}`" for key, value in overrides.items())
        sentences.append(f"Trained from the recipe `{recipe}` with {changed}.")
    elif recipe:
        sentences.append(f"`sentiment train --recipe {recipe}` trains it with the same settings.")
    if command.startswith("sentiment-train "):
        sentences.append(
            "That command is the `sentiment-train` of an earlier release, whose per-model defaults are now in the recipes."
        )
    if record:
        sentences.append("Every resolved setting is in `metrics.json` under `settings`.")
    return f"\n{' '.join(sentences)}\n" if sentences else ""


# the registered datasets that the Hub hosts, by their Hub ids
HUB_DATASETS = {
    "rotten_tomatoes": "cornell-movie-review-data/rotten_tomatoes",
    "imdb": "stanfordnlp/imdb",
    "sst2": "stanfordnlp/sst2",
}
DATASET_NAMES = {"rt-snippets": "Rotten Tomatoes snippets (Pang and Lee 2004)"}


def hub_metadata(config: ModelDirConfig, metrics: dict[str, Any]) -> str:
    """The card's YAML header, as the Hub reads it: licence, library, tags, and the test figures
    as a model-index, so that the model's page shows them."""
    from huggingface_hub import EvalResult, ModelCardData

    dataset = metrics["dataset"]["name"]
    hub_id = HUB_DATASETS.get(dataset)
    kind = hub_id or Path(dataset).name
    test = metrics["test"]
    common = {
        "task_type": "text-classification",
        "task_name": "Sentiment analysis",
        "dataset_type": kind,
        "dataset_name": DATASET_NAMES.get(dataset, kind),
        "dataset_split": "test",
    }
    cell = config.model.cell if config.model.architecture == "recurrent" else "bag-of-embeddings"
    return ModelCardData(
        license="apache-2.0",
        library_name="pytorch",
        pipeline_tag="text-classification",
        tags=["sentiment-analysis", cell, "safetensors"],
        datasets=[hub_id] if hub_id else None,
        metrics=["accuracy", "f1"],
        model_name=config.name,
        eval_results=[
            EvalResult(
                **common, metric_type="accuracy", metric_value=round(test["accuracy"], 4), metric_name="Test accuracy"
            ),
            EvalResult(
                **common,
                metric_type="f1",
                metric_value=round(test["macro_f1"], 4),
                metric_name="Test macro-F1",
                metric_args={"average": "macro"},
            ),
        ],
    ).to_yaml()


def render_model_card(config: ModelDirConfig, metrics: dict[str, Any]) -> str:
    validation = metrics["validation"]
    if not metrics["test"]:
        return render_tuning_card(config, metrics)
    test = metrics["test"]
    dataset = metrics["dataset"]
    matrix = test["confusion_matrix"]
    labels = test["confusion_matrix_labels"]
    embeddings = config.embeddings
    history_rows = "\n".join(
        f"| {row['epoch']} | {row['train_loss']:.4f} | {row['train_accuracy']:.4f} "
        f"| {row['validation_accuracy']:.4f} | {row['gradient_norm_mean']:.2f} "
        f"| {row['samples_per_second']:,.0f} |"
        for row in metrics["history"]
    )
    confusion_rows = "\n".join(
        f"| **{labels[i]}** | " + " | ".join(str(count) for count in matrix[i]) + " |" for i in range(len(labels))
    )
    return f"""---
{hub_metadata(config, metrics)}
---

# {config.name}: sentiment classifier

{describe_architecture(config)}

- **Labels:** {", ".join(config.model.labels)}
- **Parameters:** {metrics["parameters"]:,}; weights stored as {config.weights_dtype} in `model.safetensors`
- **Tokenizer:** {config.tokenizer.algorithm}, {config.model.vocab_size:,} tokens trained on the
  training split only, NFKC + lower case, texts cut at {config.tokenizer.max_length} tokens
- **Embeddings:** {embeddings["description"] if embeddings else "trained from random initialisation"}
{distillation_line(metrics.get("distillation"))}
## Results on `{dataset["name"]}`

| split | examples | accuracy | 95% CI (bootstrap) | macro-F1 |
|---|---|---|---|---|
| validation | {validation["num_examples"]:,} | {validation["accuracy"]:.4f} | | {validation["macro_f1"]:.4f} |
| test | {test["num_examples"]:,} | {test["accuracy"]:.4f} | {interval(test.get("accuracy_ci95"))} | {test["macro_f1"]:.4f} |
{reference_line(metrics.get("reference"))}
The test split was used once, after training; early stopping and model selection used the
validation split only (best epoch: {metrics["best_epoch"]}).
{onnx_line(metrics.get("onnx"))}{bfloat16_line(metrics.get("bfloat16"))}
{behaviour_section(metrics.get("behavioural"))}{calibration_section(metrics.get("calibration"), metrics.get("familiarity"))}
Test confusion matrix (rows: true label, columns: predicted):

| | {" | ".join(labels)} |
|---|{"---|" * len(labels)}
{confusion_rows}

## Training

Made with this command (seed {metrics["seed"]}, {metrics["training_seconds"]:.1f} s on CPU):

```bash
{metrics["command"]}
```
{settings_note(metrics["command"], metrics.get("settings"))}
Adam (learning rate {metrics["training"]["learning_rate"]}), batch size
{metrics["training"]["batch_size"]}, gradient-norm clipping at {metrics["training"]["clip_norm"]},
early stopping after {metrics["training"]["patience"]} epochs without a better validation accuracy.{averaging_note(metrics["training"])}{adversarial_note(metrics["training"])}{precision_note(metrics["training"])}{candidates_note(metrics.get("candidates"))}

| epoch | train loss | train accuracy | validation accuracy | mean gradient norm | samples/s |
|---|---|---|---|---|---|
{history_rows}

Data: {"; ".join(dataset["notes"])}. Splits: {dataset["sizes"]["train"]:,} train /
{dataset["sizes"]["validation"]:,} validation / {dataset["sizes"]["test"]:,} test;
fingerprint `{dataset["fingerprint"][:16]}`.

## Use

```python
from sentiment_app import load_predictor
predictor = load_predictor("path/to/{config.name}")
print(predictor.predict(["A gripping, beautifully acted film."])[0].label)
```

## Limitations

Trained on short English movie-review sentences; expect lower accuracy on other domains, long
texts, sarcasm and other languages. It reads at most {config.tokenizer.max_length} tokens.
"""
