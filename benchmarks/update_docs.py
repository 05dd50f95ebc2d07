"""Copy measured figures into README.md between its markers, so that the README quotes exactly
what the commands printed:

    <!-- comparison:start -->   assets/models/comparison.md   (sentiment-train --models ...)
    <!-- long-range:start -->   assets/long_range.json        (python -m training.long_range)
    <!-- benchmarks:start -->   benchmarks/results.md         (python -m benchmarks.run)

    python -m benchmarks.readme
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from sentiment_app.atomic import atomic_write_text

ROOT = Path(__file__).resolve().parent.parent


def long_range_table(path: Path) -> str:
    result = json.loads(path.read_text())
    summary = result["summary"]
    distances = result["settings"]["distances"]
    lines = ["| model | " + " | ".join(f"N = {d}" for d in distances) + " |",
             "|---|" + "---|" * len(distances)]
    for name, per_distance in summary.items():
        cells = []
        for distance in distances:
            cell = per_distance[str(distance)] if str(distance) in per_distance else per_distance[distance]
            cells.append(f"{cell['mean']:.2f} ({cell['min']:.2f}–{cell['max']:.2f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return ("Test accuracy, mean of the seeds (min–max); 0.50 is chance. "
            f"Reproduce with `{result['settings']['command'].strip()}`.\n\n" + "\n".join(lines) + "\n")


def replace_block(text: str, name: str, content: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no {name} markers")
    return pattern.sub(lambda match: match.group(1) + content.rstrip("\n") + "\n" + match.group(2), text)


def main() -> int:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    sources = {
        "comparison": ROOT / "assets" / "models" / "comparison.md",
        "long-range": ROOT / "assets" / "long_range.json",
        "benchmarks": ROOT / "benchmarks" / "results.md",
    }
    for name, path in sources.items():
        if not path.is_file():
            print(f"skipped {name}: {path} does not exist yet")
            continue
        content = long_range_table(path) if name == "long-range" else path.read_text(encoding="utf-8")
        text = replace_block(text, name, content)
    atomic_write_text(readme, text)
    print("README.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
