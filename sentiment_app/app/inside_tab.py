"""The "Inside the network" tab: gates and gradients on a text, the unit explorer, three cells
side by side, and the experiments' plots. Components and wiring only."""

from __future__ import annotations

import gradio as gr

from sentiment_app.app.handlers import Handlers
from sentiment_app.app.queues import MODEL_GROUP
from sentiment_app.app.unit_handlers import UnitHandlers
from sentiment_app.inference.units import DEFAULT_THRESHOLD
from sentiment_app.limits import INSIDE_MAX_CHARS
from sentiment_app.paths import ASSETS_DIR

LONG_RANGE_PLOT = ASSETS_DIR / "long_range.png"
GRADIENT_DECAY_PLOT = ASSETS_DIR / "gradient_decay.png"
INSIDE_EXAMPLE = (
    "The first half drags and the dialogue is clumsy, but the final act is so moving that I left the theatre smiling."
)
INSIDE_SPAN = "so moving"
INSIDE_INTRO = """A SimpleRNN squeezes everything it has read into one hidden state,
h_t = tanh(W_h x_t + U_h h_{t-1} + b_h); the gradient that trains it is multiplied by U_h and
tanh' at every step back in time, so it shrinks (vanishes) or grows (explodes) exponentially with
distance. An LSTM adds a cell state c_t = f_t * c_{t-1} + i_t * g_t: where the **forget gate**
f_t stays near 1, information and gradient pass through unchanged (a GRU's update gate does the
same). Below: the gates of the chosen model on your text and how strongly each model's loss
reaches back to each word; then the units, as LSTMVis shows them; then two measurements, at the
bottom, of what the gates buy. The shipped SimpleRNN, LSTM and BiLSTM read the maximum of each
unit over the text, a shortcut that lets the gradient reach every word directly; the
measurements read only the final state, which is where the gradient has to travel."""
UNITS_INTRO = """#### Explore the units, as LSTMVis does
Pick a phrase of the text and a threshold: the units whose state stays above it across the
phrase are selected, and the validation texts whose states switch on the most similar units are
listed with the matching words marked. Then hold units at a value (0 ablates them) and see how
the prediction moves."""
SIDE_BY_SIDE_INTRO = """#### Three cells on one text
The SimpleRNN has no gates (its mean |h_t| is drawn); the LSTM's forget gate and the GRU's update
gate decide, token by token, how much of the past each keeps."""
GRADIENT_DECAY_INTRO = """#### Vanishing gradients, measured
How much of the gradient survives from the last state back to step t (log scale). Left, on the
long-range task: at initialisation (dashed) every cell but the chrono-initialised LSTM loses it
exponentially, the LSTM with PyTorch's forget bias 0 fastest; after training (solid) the two cells
that learned the task, the GRU and the chrono LSTM, are nearly flat, and those that stayed at
chance still decay. Middle, on real review texts: the shipped GRU and LSTM keep far more per step
than the shipped SimpleRNN. Right: the gradient norms before clipping while the shipped models
trained (the exploding side).
`sentiment gradient-decay` reproduces this plot."""
LONG_RANGE_INTRO = """#### The long-range experiment
The label is set by the first token and followed by N random distractors; the network reads only
its final state (five seeds each, the same budget for every cell). Only the LSTM whose forget
bias starts by chrono initialisation remembers across 200 distractors in every seed; with
PyTorch's bias 0 the LSTM forgets from 20 on. `sentiment long-range` reproduces this plot."""


def inside_tab(handlers: Handlers, units: UnitHandlers, models: list[str]) -> None:
    recurrent = [name for name in models if name != "bag-of-embeddings"] or models
    with gr.Tab("Inside the network", id="inside") as tab:
        gr.Markdown(INSIDE_INTRO)
        with gr.Row():
            text = gr.Textbox(
                label="Text", value=INSIDE_EXAMPLE, lines=2, scale=4, max_length=INSIDE_MAX_CHARS, elem_id="inside-text"
            )
            with gr.Column(scale=1):
                model = gr.Dropdown(recurrent, value=recurrent[0], label="Model", elem_id="inside-model")
                direction = gr.Radio(
                    ["left to right", "right to left"], value="left to right", label="Direction (bidirectional models)"
                )
                button = gr.Button("Look inside", variant="primary", elem_id="inside-run")
        notes = gr.Markdown()
        gates_plot = gr.Plot(label="Gates and states per token", show_label=False, elem_id="inside-gates")
        gradient_plot = gr.Plot(
            label="Gradient flow through time (every model)", show_label=False, elem_id="inside-gradients"
        )
        inputs, outputs = [text, model, direction], [gates_plot, gradient_plot, notes]
        for trigger in (button.click, model.change, direction.change, text.submit, tab.select):
            trigger(handlers.inside, inputs, outputs, api_visibility="private", **MODEL_GROUP)

        gr.Markdown(UNITS_INTRO)
        with gr.Row():
            span = gr.Textbox(label="Phrase of the text", value=INSIDE_SPAN, scale=3, elem_id="units-span")
            threshold = gr.Slider(
                -0.9, 0.9, value=DEFAULT_THRESHOLD, step=0.05, label="Threshold", scale=2, elem_id="units-threshold"
            )
            find = gr.Button("Find units", variant="primary", scale=1, elem_id="units-find")
        summary = gr.Markdown(elem_id="units-summary")
        matches = gr.HTML(elem_id="units-matches")
        sentiment_plot = gr.Plot(label="Sentiment units over the text", show_label=False, elem_id="units-sentiment")
        with gr.Row():
            chosen = gr.Textbox(
                label="Units to hold (pre-filled: the sentiment units)", scale=3, elem_id="units-chosen"
            )
            mode = gr.Radio(["ablate (set to 0)", "clamp"], value="ablate (set to 0)", label="Change", scale=2)
            value = gr.Slider(-1, 1, value=1, step=0.1, label="Clamp value", scale=2)
            ablate = gr.Button("Apply", scale=1, elem_id="units-ablate")
        ablation = gr.Markdown(elem_id="units-ablation")
        find_outputs = [summary, matches, sentiment_plot, chosen]
        for trigger in (find.click, span.submit, tab.select):
            trigger(
                units.explore, [text, model, span, threshold], find_outputs, api_visibility="private", **MODEL_GROUP
            )
        ablate.click(
            units.ablate, [text, model, chosen, mode, value], ablation, api_visibility="private", **MODEL_GROUP
        )

        gr.Markdown(SIDE_BY_SIDE_INTRO)
        side_plot = gr.Plot(label="SimpleRNN, LSTM and GRU gates", show_label=False, elem_id="inside-side-by-side")
        side_notes = gr.Markdown()
        for trigger in (button.click, text.submit, tab.select):
            trigger(units.side_by_side, text, [side_plot, side_notes], api_visibility="private", **MODEL_GROUP)

        for path, intro, label, elem_id in (
            (GRADIENT_DECAY_PLOT, GRADIENT_DECAY_INTRO, "Gradient norm against distance", "gradient-decay"),
            (LONG_RANGE_PLOT, LONG_RANGE_INTRO, "Accuracy against distance (synthetic task)", "long-range"),
        ):  # the gradient first: it explains the accuracy curve below it
            if path.is_file():
                gr.Markdown(intro)
                gr.Image(str(path), label=label, show_label=False, buttons=[], elem_id=elem_id)
