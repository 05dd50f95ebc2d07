"""Figures for the web app (matplotlib, drawn off-screen)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


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
                axis.text(column, row, f"{value}\n{value / total:.0%}", ha="center", va="center",
                          fontsize=8, color="white" if value > total / 3 else "black")
        axis.set_xticks(range(len(labels)), [label[:3] for label in labels], fontsize=8)
        axis.set_yticks(range(len(labels)), [label[:3] for label in labels], fontsize=8)
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("predicted", fontsize=8)
    axes[0][0].set_ylabel("true", fontsize=8)
    figure.tight_layout()
    plt.close(figure)
    return figure
