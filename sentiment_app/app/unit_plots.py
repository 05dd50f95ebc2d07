"""Figures of the unit explorer: sentiment units over a text, and three cells side by side."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from sentiment_app.app.plots import GATE_COLOURS, short_labels
from sentiment_app.inference.internals import NetworkTrace

CELL_TITLES = {"rnn": "SimpleRNN (no gates: mean |h_t|)", "lstm": "LSTM", "gru": "GRU"}


def sentiment_units_figure(tokens: list[str], activations: dict[int, list[float]], leans: dict[int, str]) -> Figure:
    """One row per sentiment unit: its state at each token, red to blue over [-1, 1]."""
    units = list(activations)
    values = np.array([activations[unit] for unit in units])  # (units, tokens)
    figure, axis = plt.subplots(figsize=(min(max(6.5, 0.42 * len(tokens) + 2.8), 14), 0.45 * len(units) + 1.9))
    image = axis.imshow(values, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
    axis.set_yticks(range(len(units)), [f"unit {unit} ({leans[unit]})" for unit in units], fontsize=7)
    axis.set_xticks(range(len(tokens)), short_labels(tokens), rotation=45, ha="right", fontsize=7)
    axis.set_title("Sentiment units (those that best separate the reference corpus) on your text", fontsize=9)
    figure.colorbar(image, ax=axis, fraction=0.025, pad=0.01, label="state h_t")
    figure.tight_layout()
    plt.close(figure)
    return figure


def cells_side_by_side_figure(traces: list[NetworkTrace]) -> Figure:
    """The gate means of a SimpleRNN, an LSTM and a GRU on the same text, one panel each."""
    tokens = max((trace.tokens for trace in traces), key=len, default=[])
    figure, axes = plt.subplots(
        len(traces), 1, figsize=(min(max(6.5, 0.42 * len(tokens) + 2.8), 14), 1.9 * len(traces) + 0.8), squeeze=False
    )
    for axis, trace in zip(axes[:, 0], traces):
        direction = trace.directions[0]
        positions = range(len(trace.tokens))
        if trace.cell == "rnn":
            axis.plot(
                positions, np.abs(direction.hidden).mean(axis=1), color="#dc2626", marker="o", ms=3, label="mean |h_t|"
            )
        for name, means in direction.gate_means.items():
            axis.plot(positions, means, color=GATE_COLOURS.get(name), marker="o", ms=3, label=f"{name} gate")
        axis.set_ylim(0, 1)
        axis.set_title(f"{trace.model}: {CELL_TITLES[trace.cell]}, reading left to right", fontsize=8, loc="left")
        axis.set_xticks(list(positions), short_labels(trace.tokens), rotation=45, ha="right", fontsize=7)
        axis.legend(fontsize=7, ncol=3, loc="upper right", frameon=False, bbox_to_anchor=(1.0, 1.32))
        axis.grid(alpha=0.3)
    figure.tight_layout()
    plt.close(figure)
    return figure
