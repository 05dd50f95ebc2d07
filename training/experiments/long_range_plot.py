"""The long-range experiment's summary over seeds and its plot: the mean and every seed."""

from __future__ import annotations

import statistics
from io import BytesIO
from pathlib import Path
from typing import Any

from sentiment_app.storage.atomic import atomic_write_bytes

COLOURS = {
    "simple-rnn": "#dc2626",
    "lstm-bias-0": "#93c5fd",
    "lstm-bias-1": "#2563eb",
    "lstm-chrono": "#1e3a8a",
    "gru": "#16a34a",
}


def summarise(runs: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """cell -> distance (a string, as JSON keys are) -> mean, min, max and the seeds' accuracies."""
    accuracies: dict[str, dict[str, list[float]]] = {}
    for run in runs:
        accuracies.setdefault(run["cell"], {}).setdefault(str(run["distance"]), []).append(run["test_accuracy"])
    return {
        cell: {
            distance: {"mean": statistics.fmean(values), "min": min(values), "max": max(values), "seeds": values}
            for distance, values in per_distance.items()
        }
        for cell, per_distance in accuracies.items()
    }


def plot(result: dict[str, Any], path: Path) -> None:
    """Accuracy against distance on a log axis: a line through the means and a dot per seed (runs
    succeed or stay at chance, so a band would hide that), shifted a little sideways per cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary, distances = result["summary"], result["settings"]["distances"]
    figure, axis = plt.subplots(figsize=(7.2, 4.4))
    cells = list(summary)
    for index, name in enumerate(cells):
        per_distance = summary[name]
        shown = [d for d in distances if str(d) in per_distance]
        shift = 1.0 + 0.03 * (index - (len(cells) - 1) / 2)  # multiplicative: the axis is log
        xs = [d * shift for d in shown]
        colour = COLOURS.get(name)
        means = [per_distance[str(d)]["mean"] for d in shown]
        axis.plot(xs, means, marker="o", markersize=4, label=name, color=colour, zorder=3)
        for x, d in zip(xs, shown):
            seeds = per_distance[str(d)]["seeds"]
            axis.scatter([x] * len(seeds), seeds, s=18, color=colour, alpha=0.6, linewidths=0, zorder=4)
    axis.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    axis.annotate(
        "chance",
        xy=(0.01, 0.5),
        xycoords=("axes fraction", "data"),
        xytext=(0, 3),
        textcoords="offset points",
        color="grey",
        fontsize=8,
    )
    axis.set_xscale("log")
    axis.set_xticks(distances, [str(d) for d in distances])
    axis.minorticks_off()
    axis.set_ylim(0.4, 1.03)
    axis.set_xlabel("distractor tokens between the signal and the end (N)")
    axis.set_ylabel("test accuracy")
    seeds = result["settings"]["seeds"]
    axis.set_title(f"Remembering one early token: line the mean of {seeds} seeds, dots each seed", fontsize=10)
    axis.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())
