"""Figures for the web app (matplotlib, drawn off-screen)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from gradio.components.plot import PlotData  # noqa: E402
from gradio.processing_utils import encode_plot_to_base64  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

# matplotlib's text layout (its mathtext parser) is not thread-safe: one figure drawn at a time
RENDER_LOCK = threading.Lock()


def rendered(build: Callable[..., Figure], *args) -> PlotData:
    """Build a figure and encode it as gr.Plot sends it, under the lock: Gradio would otherwise
    draw it outside any lock, after the handler returns."""
    with RENDER_LOCK:
        figure = build(*args)
        try:
            return PlotData(type="matplotlib", plot=encode_plot_to_base64(figure))
        finally:
            plt.close(figure)


def validation_curves_figure(rows: list[dict]) -> Figure:
    """Validation accuracy by epoch, one line per model, whole-number epoch ticks."""
    from matplotlib.ticker import MaxNLocator

    figure, axis = plt.subplots(figsize=(9, 3.2))
    models: dict[str, list[tuple[int, float]]] = {}
    for row in rows:
        if row["metric"] == "validation accuracy":
            models.setdefault(row["model"], []).append((row["epoch"], row["value"]))
    for name, points in models.items():
        points.sort()
        axis.plot([e for e, _ in points], [v for _, v in points], marker="o", markersize=3, label=name)
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_xlabel("epoch", fontsize=8)
    axis.set_ylabel("validation accuracy", fontsize=8)
    axis.set_title("Validation accuracy by epoch (training curves)", fontsize=9)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, ncol=5, loc="lower right", frameon=False)
    figure.tight_layout()
    plt.close(figure)
    return figure


def reliability_figure(diagrams: dict[str, dict]) -> Figure:
    """Reliability diagrams on the test split: accuracy against confidence per bin, before and after
    temperature scaling, one panel per model; the diagonal is perfect calibration."""
    count = max(len(diagrams), 1)
    figure, axes = plt.subplots(1, count, figsize=(2.3 * count, 2.7), squeeze=False, sharey=True)
    for axis, (name, calibration) in zip(axes[0], diagrams.items()):
        axis.plot([0.5, 1], [0.5, 1], color="#9ca3af", linewidth=1, linestyle=":")
        for key, colour, label in (
            ("reliability_before", "#dc2626", "before"),
            ("reliability_after", "#2563eb", "after"),
        ):
            rows = [row for row in calibration.get(key, []) if row["count"] >= 5]
            axis.plot(
                [r["confidence"] for r in rows],
                [r["accuracy"] for r in rows],
                marker="o",
                ms=3,
                color=colour,
                label=label,
            )
        axis.set_title(
            f"{name}\nECE {calibration['test_ece_before']:.3f} → {calibration['test_ece_after']:.3f}", fontsize=8
        )
        axis.set_xlim(0.5, 1.0)
        axis.set_ylim(0.3, 1.0)
        axis.set_xlabel("confidence", fontsize=7)
        axis.tick_params(labelsize=7)
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel("accuracy", fontsize=7)
    axes[0][0].legend(fontsize=7, frameon=False, loc="upper left")
    figure.suptitle(
        "Reliability on the test split (bins of 5 or more texts), before and after temperature scaling", fontsize=9
    )
    figure.tight_layout()
    plt.close(figure)
    return figure


def confusion_matrices_figure(matrices: dict[str, tuple[list[str], list[list[int]]]]) -> Figure:
    """One small heat map per model: rows true label, columns predicted, cells counts."""
    count = max(len(matrices), 1)
    figure, axes = plt.subplots(1, count, figsize=(2.3 * count, 2.6), squeeze=False)
    for axis, (name, (labels, matrix)) in zip(axes[0], matrices.items()):
        total = sum(map(sum, matrix)) or 1
        axis.imshow(matrix, cmap="Blues", vmin=0, vmax=max(map(max, matrix)) or 1)
        for row in range(len(labels)):
            for column in range(len(labels)):
                value = matrix[row][column]
                axis.text(
                    column,
                    row,
                    f"{value}\n{value / total:.0%}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if value > total / 3 else "black",
                )
        axis.set_xticks(range(len(labels)), [label[:3] for label in labels], fontsize=8)
        axis.set_yticks(range(len(labels)), [label[:3] for label in labels], fontsize=8)
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("predicted", fontsize=8)
    axes[0][0].set_ylabel("true", fontsize=8)
    figure.suptitle("Test confusion matrices", fontsize=9)
    figure.tight_layout()
    plt.close(figure)
    return figure


GATE_COLOURS = {"forget": "#2563eb", "input": "#16a34a", "output": "#f59e0b", "update": "#7c3aed", "reset": "#db2777"}


def short_labels(tokens: list[str], limit: int = 14) -> list[str]:
    """Tick labels: long tokens cut, and "$" escaped so that user text is never parsed as math."""
    cut = [token if len(token) <= limit else token[: limit - 1] + "…" for token in tokens]
    return [label.replace("$", r"\$") for label in cut]


def gates_figure(tokens: list[str], cell: str, direction: str, gates: dict, hidden, cell_state, model: str) -> Figure:
    """Gate activations and states of one direction over the tokens of a text.

    Top: mean activation of each gate per token, with the hidden (and cell) state norms on a
    second axis. Below: one heat map (hidden units x tokens) per gate, or of the hidden state
    for a SimpleRNN, which has no gates.
    """
    import numpy as np

    maps = dict(gates) if gates else {"hidden state": hidden}
    rows = 1 + len(maps)
    width = min(max(6.5, 0.42 * len(tokens) + 2.5), 14)
    figure, axes = plt.subplots(
        rows,
        1,
        figsize=(width, 1.9 + 1.5 * len(maps)),
        squeeze=False,
        gridspec_kw={"height_ratios": [1.3] + [1] * len(maps)},
    )
    positions = range(len(tokens))
    labels = short_labels(tokens)
    top = axes[0][0]
    for name, values in gates.items():
        top.plot(
            positions,
            values.mean(axis=1),
            marker="o",
            markersize=3,
            color=GATE_COLOURS.get(name),
            label=f"{name} gate (mean)",
        )
    if gates:
        top.set_ylim(0, 1)
        top.set_ylabel("gate", fontsize=8)
    norms = top.twinx() if gates else top
    norms.plot(
        positions,
        np.linalg.norm(hidden, axis=1),
        color="black",
        linestyle="--",
        linewidth=1,
        label="‖h_t‖ hidden state",
    )
    if cell_state is not None:
        norms.plot(
            positions,
            np.linalg.norm(cell_state, axis=1),
            color="grey",
            linestyle=":",
            linewidth=1.2,
            label="‖c_t‖ cell state",
        )
    norms.set_ylabel("state norm", fontsize=8)
    handles = top.get_legend_handles_labels()
    extra = norms.get_legend_handles_labels() if norms is not top else ([], [])
    top.legend(
        handles[0] + extra[0],
        handles[1] + extra[1],
        fontsize=7,
        ncol=3,
        loc="upper left",
        bbox_to_anchor=(0, 1.45),
        frameon=False,
    )
    top.set_xticks(list(positions), labels, rotation=45, ha="right", fontsize=7)
    top.set_xlim(-0.5, len(tokens) - 0.5)
    top.set_title(
        f"{model}: {cell.upper() if cell != 'rnn' else 'SimpleRNN'}, first layer, reading {direction}",
        fontsize=9,
        pad=34,
    )
    for axis, (name, values) in zip(axes[1:, 0], maps.items()):
        limits = (0, 1) if name in GATE_COLOURS else (-1, 1)
        image = axis.imshow(
            values.T,
            aspect="auto",
            cmap="viridis" if limits[0] == 0 else "RdBu_r",
            vmin=limits[0],
            vmax=limits[1],
            interpolation="nearest",
        )
        axis.set_ylabel(f"{name}\nunits", fontsize=8)
        axis.set_xticks(list(positions), labels, rotation=45, ha="right", fontsize=7)
        axis.set_yticks([])
        figure.colorbar(image, ax=axis, fraction=0.02, pad=0.01)
    figure.tight_layout()
    plt.close(figure)
    return figure


def gradient_flow_figure(words: list[str], flows: dict[str, list[float]]) -> Figure:
    """|| d loss / d embedding || per word, one line per model, each divided by its own largest
    value (a confident model has small gradients everywhere: the shape is what tells), on a log
    scale. Words below 1e-4 of the largest sit on the axis floor: under max pooling a word whose
    units never win the maximum gets almost no gradient, and the log scale would otherwise
    stretch down to 1e-12 and flatten every other line."""
    floor = 1e-4
    figure, axis = plt.subplots(figsize=(min(max(6.5, 0.45 * len(words) + 2.5), 14), 3.4))
    colours = {
        "simple-rnn": "#dc2626",
        "lstm": "#2563eb",
        "bilstm": "#0891b2",
        "gru": "#16a34a",
        "bag-of-embeddings": "#9ca3af",
    }
    for name, norms in flows.items():
        largest = max(norms, default=0.0) or 1.0
        values = [max(value / largest, floor) for value in norms]
        axis.plot(
            range(len(words)),
            values,
            marker="o",
            markersize=3,
            label=name,
            color=colours.get(name),
            linestyle="--" if name == "bag-of-embeddings" else "-",
        )
    axis.set_yscale("log")
    axis.set_ylim(floor / 1.5, 2.0)
    axis.set_xticks(range(len(words)), short_labels(words), rotation=45, ha="right", fontsize=7)
    axis.set_ylabel("‖∂ loss / ∂ embedding‖\n(relative to its largest)", fontsize=8)
    axis.set_title("Gradient flow through time: how strongly the loss reaches back to each word", fontsize=9)
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=7, ncol=5, loc="upper left", frameon=False)
    figure.tight_layout()
    plt.close(figure)
    return figure
