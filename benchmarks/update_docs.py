"""Copy measured figures into the README and the docs between their markers, so that every page
quotes exactly what the commands wrote, from one source each:

    README.md                     results      assets/models/comparison.json  (sentiment train / compare)
    docs/results.md               comparison   assets/models/comparison.md
    docs/results.md               calibration  assets/models/*/metrics.json   (sentiment calibrate)
    docs/inside-the-networks.md   long-range   assets/long_range.json         (sentiment long-range)
    docs/inside-the-networks.md   gradient-decay  assets/gradient_decay.json  (sentiment gradient-decay)
    benchmarks/README.md          benchmarks   benchmarks/results.md          (sentiment bench)
    docs/training.md              scale        benchmarks/results-scale.md    (python -m benchmarks.scale)

    python -m benchmarks.update_docs           # rewrite the pages
    python -m benchmarks.update_docs --check   # exit 1 if a page is out of date
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

from sentiment_app.paths import PACKAGE_ROOT
from sentiment_app.storage.atomic import atomic_write_text


def duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} minutes" if seconds >= 120 else f"{seconds:.0f} seconds"


def long_range_table(path: Path) -> str:
    """Mean test accuracy per cell and distance with the seeds' range, and the command's run time."""
    result = json.loads(path.read_text())
    settings, summary = result["settings"], result["summary"]
    distances = settings["distances"]
    lines = ["| cell | " + " | ".join(f"N = {d}" for d in distances) + " |", "|---|" + "---|" * len(distances)]
    for name, per_distance in summary.items():
        cells = [
            f"{cell['mean']:.2f} ({cell['min']:.2f}–{cell['max']:.2f})"
            for cell in (per_distance[str(distance)] for distance in distances)
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return (
        f"Test accuracy on {settings['test_size']:,} fresh sequences, mean of {settings['seeds']} seeds "
        f"(min–max); 0.50 is chance. `{settings['command'].strip()}` took {duration(result['wall_seconds'])} "
        f"({settings['machine']}, {settings['threads']} thread).\n\n" + "\n".join(lines)
    )


def gradient_decay_table(path: Path) -> str:
    """The factor g(k) shrinks by per step, per cell, at initialisation and trained."""
    result = json.loads(path.read_text())
    synthetic, texts = result["synthetic"], result["texts"]
    lines = [
        f"Decay per step of g(k) (a least-squares fit of log g over k >= 1; 1.00 is no decay). Synthetic: "
        f"{synthetic['sequences']} task sequences of {synthetic['sequence_length']} steps, trained at "
        f"N = {synthetic['trained_distance']}; texts: the first {texts['length']} tokens of validation texts. "
        f"`{result['settings']['command'].strip()}` took {duration(result['wall_seconds'])}.",
        "",
        "| where | cell | at initialisation | trained | trained test accuracy |",
        "|---|---|---|---|---|",
    ]
    for name, entry in synthetic["cells"].items():
        lines.append(
            f"| synthetic | {name} | {entry['initial']['decay_per_step']:.3f} | "
            f"{entry['trained']['decay_per_step']:.3f} | {entry['training']['test_accuracy']:.2f} |"
        )
    for name, entry in texts["models"].items():
        lines.append(
            f"| texts ({entry['texts']}) | shipped {name} | {entry['initial']['decay_per_step']:.3f} | "
            f"{entry['trained']['decay_per_step']:.3f} | — |"
        )
    bounds = [
        (where, entry["trained"]["bound"])
        for where, entry in (
            ("synthetic", synthetic["cells"].get("simple-rnn")),
            ("texts", texts["models"].get("simple-rnn")),
        )
        if entry
    ]
    for where, bound in bounds:
        lines.append(
            f"\nElman bound, {where}, trained: sigma_max(U_h) = {bound['sigma_max']:.2f}, max tanh' = "
            f"{bound['max_tanh_derivative']:.3f}, factor {bound['factor']:.2f} per step."
        )
    return "\n".join(lines)


def results_table(path: Path) -> str:
    """The README's short table: test accuracy with its interval, the behavioural checks by half,
    and calibration (ECE before and after temperature scaling)."""
    comparison = json.loads(path.read_text())
    lines = [
        f"Test split of `{comparison['dataset']}`, bootstrap 95% intervals; behavioural checks: the share "
        "of hand-written cases passed, on the half that may guide choices / the held-apart half; ECE: "
        "expected calibration error (15 bins) before → after temperature scaling fitted on validation. "
        "Full figures: [docs/results.md](docs/results.md).",
        "",
        "| model | test accuracy | 95% CI | behavioural checks | ECE | temperature | parameters |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in comparison["models"]:
        low, high = row["test_accuracy_ci95"]
        halves = row.get("behavioural_halves")
        behaviour = (
            f"{halves['tuning']:.1%} / {halves['held_apart']:.1%}" if halves else f"{row['behavioural_pass_rate']:.1%}"
        )
        calibrated = row.get("test_ece_after") is not None
        ece = f"{row['test_ece_before']:.3f} → {row['test_ece_after']:.3f}" if calibrated else "—"
        temperature = f"{row['temperature']:.2f}" if calibrated else "—"
        lines.append(
            f"| {row['model']} | {row['test_accuracy']:.4f} | {low:.3f}–{high:.3f} | {behaviour} | {ece} | "
            f"{temperature} | {row['parameters']:,} |"
        )
    reference = comparison.get("reference")
    if reference:
        low, high = reference["test_accuracy_ci95"]
        lines.append(
            f"| {reference['model']} | {reference['test_accuracy']:.4f} | {low:.3f}–{high:.3f} | — | — | — | — |"
        )
    return "\n".join(lines)


def calibration_table(path: Path) -> str:
    """docs/results.md's calibration table, from the models' metrics.json beside comparison.json."""
    lines = [
        "| model | temperature | test ECE before | after | unsure below | test answers that only lean "
        "| behavioural checks: tuning half / held-apart half |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in json.loads(path.read_text())["models"]:
        metrics = json.loads((path.parent / row["model"] / "metrics.json").read_text())
        calibration, halves = metrics["calibration"], metrics["behavioural"]["halves"]
        band = calibration["unsure_below"]
        lines.append(
            f"| {row['model']} | {calibration['temperature']:.3f} | {calibration['test_ece_before']:.4f} "
            f"| {calibration['test_ece_after']:.4f} | {f'{band:.2f}' if band > 0.5 else '— (no band under 60%)'} "
            f"| {calibration['test_unsure_share']:.1%} | {halves['tuning']:.1%} / {halves['held_apart']:.1%} |"
        )
    return "\n".join(lines)


def verbatim(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# page -> marker name -> (source, how to render it)
BLOCKS: dict[str, dict[str, tuple[str, Callable[[Path], str]]]] = {
    "README.md": {"results": ("assets/models/comparison.json", results_table)},
    "docs/results.md": {
        "comparison": ("assets/models/comparison.md", verbatim),
        "calibration": ("assets/models/comparison.json", calibration_table),
    },
    "docs/inside-the-networks.md": {
        "long-range": ("assets/long_range.json", long_range_table),
        "gradient-decay": ("assets/gradient_decay.json", gradient_decay_table),
    },
    "benchmarks/README.md": {"benchmarks": ("benchmarks/results.md", verbatim)},
    "docs/training.md": {"scale": ("benchmarks/results-scale.md", verbatim)},
}


def replace_block(text: str, name: str, content: str, page: str = "the page") -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{page} has no {name} markers")
    return pattern.sub(lambda match: match.group(1) + content.rstrip("\n") + "\n" + match.group(2), text)


def updated_pages(root: Path = PACKAGE_ROOT) -> dict[Path, tuple[str, str]]:
    """Each page's current text and its text with every block regenerated."""
    pages = {}
    for page, blocks in BLOCKS.items():
        path = root / page
        old = new = path.read_text(encoding="utf-8")
        for name, (source, render) in blocks.items():
            if (root / source).is_file():
                new = replace_block(new, name, render(root / source), page)
        pages[path] = (old, new)
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.update_docs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report pages that are out of date (exit 1)")
    args = parser.parse_args(argv)
    stale = []
    for path, (old, new) in updated_pages().items():
        if old != new:
            stale.append(path.relative_to(PACKAGE_ROOT))
            if not args.check:
                atomic_write_text(path, new)
    verb = "out of date" if args.check else "updated"
    print(f"{verb}: {', '.join(map(str, stale))}" if stale else "every page is up to date")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
