"""Copy measured figures into the README and the docs between their markers, so that every page
quotes exactly what the commands wrote, from one source each:

    README.md                     results      assets/models/comparison.json  (sentiment train / compare)
    docs/results.md               comparison   assets/models/comparison.md
    docs/inside-the-networks.md   long-range   assets/long_range.json         (sentiment long-range)
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


def long_range_table(path: Path) -> str:
    result = json.loads(path.read_text())
    summary = result["summary"]
    distances = result["settings"]["distances"]
    lines = ["| model | " + " | ".join(f"N = {d}" for d in distances) + " |", "|---|" + "---|" * len(distances)]
    for name, per_distance in summary.items():
        cells = []
        for distance in distances:
            cell = per_distance[str(distance)] if str(distance) in per_distance else per_distance[distance]
            cells.append(f"{cell['mean']:.2f} ({cell['min']:.2f}–{cell['max']:.2f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    command = result["settings"]["command"].strip()
    return f"Test accuracy, mean of the seeds (min–max); 0.50 is chance. Reproduce with `{command}`.\n\n" + "\n".join(
        lines
    )


def results_table(path: Path) -> str:
    """The README's short table: test accuracy with its interval and the behavioural checks."""
    comparison = json.loads(path.read_text())
    lines = [
        f"Test split of `{comparison['dataset']}`, bootstrap 95% intervals; behavioural checks: the share "
        "of hand-written cases passed. Full figures: [docs/results.md](docs/results.md).",
        "",
        "| model | test accuracy | 95% CI | behavioural checks | parameters |",
        "|---|---|---|---|---|",
    ]
    for row in comparison["models"]:
        low, high = row["test_accuracy_ci95"]
        lines.append(
            f"| {row['model']} | {row['test_accuracy']:.4f} | {low:.3f}–{high:.3f} | "
            f"{row['behavioural_pass_rate']:.1%} | {row['parameters']:,} |"
        )
    reference = comparison.get("reference")
    if reference:
        low, high = reference["test_accuracy_ci95"]
        lines.append(f"| {reference['model']} | {reference['test_accuracy']:.4f} | {low:.3f}–{high:.3f} | — | — |")
    return "\n".join(lines)


def verbatim(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# page -> marker name -> (source, how to render it)
BLOCKS: dict[str, dict[str, tuple[str, Callable[[Path], str]]]] = {
    "README.md": {"results": ("assets/models/comparison.json", results_table)},
    "docs/results.md": {"comparison": ("assets/models/comparison.md", verbatim)},
    "docs/inside-the-networks.md": {"long-range": ("assets/long_range.json", long_range_table)},
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
