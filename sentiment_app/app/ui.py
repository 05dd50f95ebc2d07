"""The Gradio page: components and their wiring only. The work happens in `handlers.py`."""

from __future__ import annotations

import gradio as gr
from starlette.middleware import Middleware

from sentiment_app.app.handlers import ALL_MODELS, NO_LABEL_COLUMN, Handlers, upload_path
from sentiment_app.app.inside_tab import inside_tab
from sentiment_app.app.plots import confusion_matrices_figure, reliability_figure, rendered, validation_curves_figure
from sentiment_app.app.queues import FILE_GROUP, MODEL_GROUP
from sentiment_app.app.service import SentimentService
from sentiment_app.app.unit_handlers import UnitHandlers
from sentiment_app.app.upload_guard import UploadGuard
from sentiment_app.limits import (
    CACHE_SWEEP,
    CONCURRENCY,
    MAX_TEXT_CHARS,
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_ROWS,
    QUEUE_SIZE,
    SESSION_CAPACITY,
    UPLOAD_SUFFIXES,
    size_text,
)

TITLE = "Recurrent Sentiment Lab"
EXAMPLES = [
    "A gripping, beautifully acted film that stays with you long after the credits.",
    "The plot is thin, the jokes fall flat and the two hours feel like four.",
    "Not bad at all: a smart, funny script and a cast that clearly enjoys it.",
    "The trailer promised a thriller, but the film is a slow, muddled bore.",
    "I expected to hate it, but it won me over completely.",
    "It's not that the movie is terrible; it's that it is never more than okay.",
    "Visually stunning, yet emotionally hollow.",
]
# Wait until typing pauses before asking the server (the latest input wins: queued calls
# collapse into one with trigger_mode="always_last").
DEBOUNCE_JS = "async (...args) => { await new Promise(r => setTimeout(r, 250)); return args; }"
CSS = """
.gradio-container { max-width: 1180px !important; margin: auto; }
#status p { margin: 0.2em 0; }
.attributions { font-size: 1.1rem; line-height: 2.1; padding: 0.6rem 0.8rem;
                border: 1px solid var(--border-color-primary); border-radius: 8px; }
.attributions .attribution { padding: 0.15em 0.25em; border-radius: 4px; }
.attribution-legend { display: flex; gap: 0.6rem; margin-top: 0.4rem; font-size: 0.8rem; }
.attribution-legend span { color: white; padding: 0.1em 0.5em; border-radius: 4px; }
footer { display: none !important; }
.answer { border-radius: 10px; padding: 0.7rem 0.9rem; border: 2px solid; }
.answer-positive { border-color: #16a34a; background: rgba(22, 163, 74, 0.08); }
.answer-negative { border-color: #dc2626; background: rgba(220, 38, 38, 0.08); }
.answer-unsure { border-color: #d97706; background: rgba(217, 119, 6, 0.08); }
.answer-verdict { font-size: 1.5rem; font-weight: 700; }
.answer-positive .answer-verdict { color: #15803d; }
.answer-negative .answer-verdict { color: #b91c1c; }
.answer-unsure .answer-verdict { color: #b45309; }
.answer-bars { display: flex; height: 1.6rem; border-radius: 6px; overflow: hidden; margin-top: 0.5rem; }
.answer-bars .bar { color: white; font-size: 0.8rem; line-height: 1.6rem; padding: 0 0.4rem; white-space: nowrap;
                    overflow: hidden; }
.bar-negative { background: #dc2626; }
.bar-positive { background: #16a34a; text-align: right; }
.answer-note, .answer-flag { margin-top: 0.5rem; font-size: 0.9rem; }
.answer-flag { color: #92400e; background: #fef3c7; border-radius: 6px; padding: 0.3rem 0.5rem; }
.answer-empty { color: var(--body-text-color-subdued); padding: 1.2rem 0.2rem; }
"""
ANSWER_PLACEHOLDER = '<div class="answer-empty">The answer appears here as you type.</div>'


def header_markdown(service: SentimentService) -> str:
    text = (
        f"# {TITLE}\n"
        "Sentiment of movie reviews (and other short texts) with recurrent networks: a "
        f"SimpleRNN, an LSTM, a bidirectional LSTM and a GRU, beside a bag-of-embeddings "
        f"baseline. Loaded: {', '.join(service.model_names)}."
    )
    if service.load_errors:
        text += "\n\n> **Not loaded:** " + "; ".join(
            f"`{name}` ({error})" for name, error in service.load_errors.items()
        )
    load_notes = [f"`{name}`: {note}" for name, p in service.predictors.items() for note in p.loaded.notes]
    if load_notes:
        text += "\n\n> **Loaded with a warning:** " + "; ".join(load_notes)
    return text


def build_demo(service: SentimentService, delete_cache: tuple[int, int] = CACHE_SWEEP) -> gr.Blocks:
    """The page over `service`; `delete_cache` is Gradio's (every, older than) seconds sweep of uploads."""
    handlers = Handlers(service)
    models = service.model_names
    with gr.Blocks(title=TITLE, delete_cache=delete_cache) as demo:
        gr.Markdown(header_markdown(service))
        with gr.Tabs():
            with gr.Tab("Analyze", id="analyze"):
                # the answer sits beside the text on a laptop and right below it on a phone, the
                # highlighted words under both, and the examples last: all visible while typing
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=300):
                        text = gr.Textbox(
                            label="Review",
                            lines=4,
                            max_length=MAX_TEXT_CHARS,
                            placeholder="Type or paste a review; results update as you type.",
                            elem_id="analyze-text",
                        )
                        model = gr.Dropdown(models, value=service.default_model, label="Model", elem_id="analyze-model")
                    with gr.Column(scale=2, min_width=260):
                        label = gr.HTML(ANSWER_PLACEHOLDER, elem_id="analyze-label")
                        status = gr.Markdown(elem_id="status")
                highlights = gr.HTML(elem_id="analyze-highlights")
                gr.Examples(EXAMPLES, inputs=text, label="Try one (negation and contrast included)")
                analyze_inputs, analyze_outputs = [text, model], [label, highlights, status]
                text.change(
                    handlers.analyze,
                    analyze_inputs,
                    analyze_outputs,
                    js=DEBOUNCE_JS,
                    trigger_mode="always_last",
                    show_progress="hidden",
                    api_name="analyze_live",
                    api_visibility="private",
                    **MODEL_GROUP,
                )
                model.change(
                    handlers.analyze,
                    analyze_inputs,
                    analyze_outputs,
                    show_progress="hidden",
                    api_name="analyze_model",
                    api_visibility="private",
                    **MODEL_GROUP,
                )

            with gr.Tab("Compare", id="compare"):
                with gr.Row():
                    compare_text = gr.Textbox(  # one line: Enter compares
                        label="Review",
                        lines=1,
                        max_lines=1,
                        max_length=MAX_TEXT_CHARS,
                        scale=4,
                        value=EXAMPLES[2],
                        elem_id="compare-text",
                    )
                    compare_button = gr.Button("Compare models", variant="primary", scale=1)
                compare_table = gr.Dataframe(
                    label="Every model on this text", interactive=False, show_label=False, elem_id="compare-table"
                )
                compare_notes = gr.Markdown()
                for trigger in (compare_button.click, compare_text.submit, demo.load):
                    trigger(
                        handlers.compare,
                        compare_text,
                        [compare_table, compare_notes],
                        api_name="compare_table",
                        api_visibility="private",
                        **MODEL_GROUP,
                    )
                gr.Markdown(
                    "### Leaderboard\nFigures from each model's `metrics.json`, measured on the "
                    "held-out test split of the data it was trained on. *Distilled*: trained "
                    "on a fine-tuned transformer teacher's probabilities rather than the "
                    "labels alone (see each model card)."
                )
                gr.Dataframe(handlers.leaderboard(), interactive=False, elem_id="leaderboard")
                gr.Plot(
                    rendered(validation_curves_figure, service.training_curves()), show_label=False, elem_id="curves"
                )
                diagrams = service.calibration_diagrams()
                if diagrams:
                    gr.Plot(rendered(reliability_figure, diagrams), show_label=False, elem_id="reliability")
                gr.Plot(
                    rendered(confusion_matrices_figure, service.confusion_matrices()),
                    show_label=False,
                    elem_id="confusion",
                )

            with gr.Tab("Batch", id="batch"):
                gr.Markdown(
                    f"Score a whole file: CSV, TSV, TXT (one text per line) or JSONL, up to "
                    f"{size_text(MAX_UPLOAD_BYTES)} and {MAX_UPLOAD_ROWS:,} rows. Add a label column (0/1 or negative/positive) "
                    "to see each model's accuracy on it."
                )
                with gr.Row():
                    upload = gr.File(label="File", file_types=list(UPLOAD_SUFFIXES), elem_id="batch-file")
                    with gr.Column():
                        # custom values allowed: the columns are checked server-side, and a
                        # session evicted from Gradio's state holder forgets updated choices
                        text_column = gr.Dropdown(
                            [], label="Text column", allow_custom_value=True, elem_id="batch-text-column"
                        )
                        label_column = gr.Dropdown(
                            [NO_LABEL_COLUMN],
                            value=NO_LABEL_COLUMN,
                            allow_custom_value=True,
                            label="Label column (optional)",
                        )
                        batch_model = gr.Dropdown([ALL_MODELS, *models], value=ALL_MODELS, label="Models")
                        score_button = gr.Button("Score file", variant="primary", elem_id="batch-score")
                upload_info = gr.Markdown()
                result_file = gr.File(label="Scored file (CSV)", elem_id="batch-result")
                batch_notes = gr.Markdown()
                # the tables appear with the first result: no empty grids before it
                accuracy_table = gr.Dataframe(label="Accuracy on the file's labels", interactive=False, visible=False)
                preview = gr.Dataframe(label="Preview (first 20 rows)", interactive=False, visible=False)

                def on_upload(file):
                    columns, text_guess, label_guess, message = handlers.inspect_upload(upload_path(file))
                    return (
                        gr.Dropdown(choices=columns, value=text_guess),
                        gr.Dropdown(choices=[NO_LABEL_COLUMN, *columns], value=label_guess or NO_LABEL_COLUMN),
                        message,
                    )

                def on_score(file, text_column_value, label_column_value, model_value, progress=gr.Progress()):
                    output, table, accuracy, notes = handlers.score_file(
                        upload_path(file), text_column_value, label_column_value, model_value, progress=progress
                    )
                    return (
                        output,
                        gr.Dataframe(value=table, visible=not table.empty),
                        gr.Dataframe(value=accuracy, visible=not accuracy.empty),
                        notes,
                    )

                upload.change(
                    on_upload, upload, [text_column, label_column, upload_info], api_visibility="private", **FILE_GROUP
                )
                score_button.click(
                    on_score,
                    [upload, text_column, label_column, batch_model],
                    [result_file, preview, accuracy_table, batch_notes],
                    api_visibility="private",
                    **FILE_GROUP,
                )

            inside_tab(handlers, UnitHandlers(service), models)

        gr.api(handlers.predict_sentiment, api_name="predict", **MODEL_GROUP)
        gr.api(handlers.compare_models, api_name="compare", **MODEL_GROUP)
        gr.api(handlers.list_models, api_name="models", **MODEL_GROUP)
        unit_api = UnitHandlers(service)
        gr.api(unit_api.explore_units, api_name="explore_units", **MODEL_GROUP)
        gr.api(unit_api.ablate_units, api_name="ablate_units", **MODEL_GROUP)
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY)
    return demo


def launch_options() -> dict:
    """Settings passed to `demo.launch()`: look, limits and safe defaults."""
    return {
        "theme": gr.themes.Soft(primary_hue="indigo"),
        "css": CSS,
        "max_file_size": MAX_UPLOAD_BYTES,
        "app_kwargs": {"middleware": [Middleware(UploadGuard)]},
        "show_error": False,
        "state_session_capacity": SESSION_CAPACITY,
    }
