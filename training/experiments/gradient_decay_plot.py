"""The gradient-decay figure: g(k) on the synthetic task and on real texts, and the gradient
norms before clipping over the shipped models' training."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any

from sentiment_app.storage.atomic import atomic_write_bytes
from training.experiments.long_range_plot import COLOURS

SHIPPED_COLOURS = {"simple-rnn": COLOURS["simple-rnn"], "lstm": COLOURS["lstm-bias-1"], "gru": COLOURS["gru"]}
FLOOR = 1e-40  # smaller values are left out: the line stops where the gradient falls below


def shown(norms: list[float]) -> list[float]:
    """The values to draw on a log axis: those below FLOOR become gaps (NaN)."""
    return [value if value >= FLOOR else float("nan") for value in norms]


def draw_decay(axis, entries: dict[str, dict[str, Any]], colours: dict[str, str]) -> None:
    """Per cell: trained (solid), at initialisation (dashed), and the Elman bound (dotted)."""
    for name, entry in entries.items():
        colour = colours.get(name, "black")
        for when, style in (("trained", "-"), ("initial", "--")):
            norms = shown(entry[when]["norms"])
            label = name if when == "trained" else None
            axis.plot(range(len(norms)), norms, linestyle=style, color=colour, linewidth=1.4, label=label)
        bound = entry["trained"].get("bound")
        if bound:
            norms = shown(bound["norms"])
            label = f"{name} bound, trained: ({bound['factor']:.2f})^k"
            axis.plot(range(len(norms)), norms, linestyle=":", color=colour, linewidth=1.6, label=label)
    axis.set_yscale("log")
    drawn = [value for entry in entries.values() for when in ("initial", "trained") for value in entry[when]["norms"]]
    axis.set_ylim(max(min(drawn), FLOOR) / 10, 30)  # a bound above 1 grows out of the top
    axis.set_xlabel("distance T - t (steps)")
    axis.grid(alpha=0.3)
    below(axis, columns=2)


def below(axis, columns: int, handles: list | None = None) -> None:
    """The legend under the panel, clear of every line."""
    axis.legend(
        handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=columns, frameon=False
    )


def draw_exploding(axis, records: dict[str, dict[str, Any]]) -> None:
    """Mean (line) and max (dots) gradient norm before clipping per epoch, and the clip norm."""
    colours = {**SHIPPED_COLOURS, "bilstm": COLOURS["lstm-chrono"], "bag-of-embeddings": "#6b7280"}
    clip_norms = set()
    for name, record in records.items():
        colour = colours.get(name, "black")
        axis.plot(record["epochs"], record["mean"], color=colour, linewidth=1.4, label=name)
        axis.scatter(record["epochs"], record["max"], color=colour, s=12)
        if record.get("clip_norm"):
            clip_norms.add(record["clip_norm"])
    for clip_norm in clip_norms:
        axis.axhline(clip_norm, color="grey", linestyle=":", linewidth=1)
        axis.annotate(
            f"clip norm {clip_norm:g}",
            xy=(0.02, clip_norm),
            xycoords=("axes fraction", "data"),
            xytext=(0, -10),
            textcoords="offset points",
            color="grey",
            fontsize=8,
        )
    axis.set_yscale("log")
    if clip_norms:
        axis.set_ylim(top=2 * max(clip_norms))
    axis.set_xlabel("epoch")
    axis.set_ylabel("gradient norm before clipping")
    axis.set_title("Exploding side: shipped models' training\n(line: mean per epoch, dots: max)", fontsize=9)
    axis.grid(alpha=0.3)
    below(axis, columns=3)


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    synthetic, texts, records = result["synthetic"], result["texts"], result["exploding"]
    panels = 1 + bool(texts["models"]) + bool(records)
    figure, axes = plt.subplots(1, panels, figsize=(5.0 * panels, 4.6), squeeze=False)
    axes = list(axes[0])
    draw_decay(axes[0], synthetic["cells"], COLOURS)
    axes[0].set_ylabel("g(k) = E || d(v . h_T) / d s_t ||")
    axes[0].set_title(
        f"Long-range task, {synthetic['sequence_length']} steps\n"
        f"(solid: trained at N = {synthetic['trained_distance']}, dashed: initialisation)",
        fontsize=9,
    )
    if texts["models"]:
        draw_decay(axes[1], texts["models"], SHIPPED_COLOURS)
        axes[1].set_title(
            f"Real texts: shipped models, first {texts['length']} tokens\n"
            "(solid: shipped weights, dashed: initialisation)",
            fontsize=9,
        )
    if records:
        draw_exploding(axes[-1], records)
    figure.tight_layout()
    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())
