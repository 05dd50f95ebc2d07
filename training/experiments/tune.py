"""A small, reproducible hyperparameter search that selects on the validation split only.

Every configuration of a model's grid is trained with several seeds on the same data, split and
tokenizer settings; the configuration with the best mean validation accuracy wins. The runs
are made with --skip-test: test figures are never computed here, so they cannot leak into the
choice.

    sentiment tune --model bilstm --out assets/tuning
    sentiment tune --model simple-rnn --seeds 2 --out assets/tuning

It writes OUT/<model>.json (every run) and OUT/<model>.md (the table, best first). The
`distilled` grids search the settings that matter once a teacher is in the loop; give the
teacher through --extra, and the tables go to OUT/<model>-distilled.*:

    sentiment tune --model simple-rnn --grid distilled \
        --extra "--embeddings glove-50d --teacher runs/teacher" --out assets/tuning
 The choice is
the best configuration whose model directory fits the size budget (--max-size-mb, 10 MB: the
limit for the models shipped with the app); --from-json re-ranks an earlier run without training.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sentiment_app.models.classifiers import build_model, count_parameters
from sentiment_app.storage.atomic import atomic_write_text
from training import train
from training.settings import model_config_from_args

FILES_OVERHEAD_MB = 0.8  # tokenizer.json, config, metrics and model card of a 16k-token model

# Each grid: flag -> values. Flags not listed keep `sentiment train`'s defaults (or take --extra's values).
GRIDS: dict[str, dict[str, list[Any]]] = {
    "bilstm": {
        "--embeddings": ["glove-50d", "spacy-md-300d"],
        "--token-dropout": [0.0, 0.2],
        "--learning-rate": [1e-3, 2e-3],
    },
    "lstm": {"--embeddings": ["glove-50d", "spacy-md-300d"], "--pooling": ["last", "max"]},
    "gru": {"--embeddings": ["glove-50d", "spacy-md-300d"], "--pooling": ["last", "max"]},
    "simple-rnn": {"--embeddings": ["glove-50d", "spacy-md-300d"], "--pooling": ["last", "max"]},
    "bag-of-embeddings": {"--embeddings": ["glove-50d", "spacy-md-300d"], "--pooling": ["mean", "max"]},
}

# With a teacher (--extra "--teacher DIR"): the readout and a moving average of the weights.
DISTILLED_GRIDS: dict[str, dict[str, list[Any]]] = {
    "simple-rnn": {"--pooling": ["last", "max"], "--average-decay": [0.0, 0.999]},
    "lstm": {"--pooling": ["last", "max"], "--average-decay": [0.0, 0.999]},
    "bilstm": {"--average-decay": [0.0, 0.999]},
    "gru": {"--pooling": ["last", "max"], "--average-decay": [0.0, 0.999]},
    "bag-of-embeddings": {"--pooling": ["mean", "max"], "--average-decay": [0.0, 0.999]},
}
GRID_SETS = {"plain": GRIDS, "distilled": DISTILLED_GRIDS}


def configurations(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    flags = list(grid)
    return [dict(zip(flags, values)) for values in itertools.product(*(grid[f] for f in flags))]


def as_arguments(configuration: dict[str, Any]) -> list[str]:
    return [str(part) for flag, value in configuration.items() for part in (flag, value)]


def estimated_size_mb(model: str, configuration: dict[str, Any], base: list[str]) -> float:
    """Size of the model directory the configuration would produce (float32 weights)."""
    args = train.build_parser().parse_args(["--model", model, *base, *as_arguments(configuration)])
    config = model_config_from_args(model, args)
    config.vocab_size = args.vocab_size
    return count_parameters(build_model(config)) * 4 / 1e6 + FILES_OVERHEAD_MB


def rank(rows: list[dict[str, Any]], budget_mb: float) -> list[dict[str, Any]]:
    """Fitting configurations first, each group by mean validation accuracy."""
    return sorted(rows, key=lambda row: (row["estimated_size_mb"] > budget_mb, -row["mean_validation_accuracy"]))


def validation_only(metrics: dict[str, Any]) -> dict[str, Any]:
    return {
        "validation_accuracy": metrics["validation"]["accuracy"],
        "validation_macro_f1": metrics["validation"]["macro_f1"],
        "best_epoch": metrics["best_epoch"],
        "training_seconds": metrics["training_seconds"],
    }


def markdown_table(model: str, rows: list[dict[str, Any]], base: list[str], budget_mb: float) -> str:
    flags = [flag for flag in rows[0]["configuration"]]
    lines = [
        f"# Tuning `{model}`",
        "",
        f"Ranked on mean validation accuracy over {len(rows[0]['runs'])} seeds, among the "
        f"configurations whose model directory fits {budget_mb:g} MB (those that do not come "
        "last); the test split was not used. Base flags: `" + " ".join(base) + "`.",
        "",
        "| rank | "
        + " | ".join(f"`{f}`" for f in flags)
        + " | validation accuracy (mean) | per seed | mean best epoch | size |",
        "|---|" + "---|" * len(flags) + "---|---|---|---|",
    ]
    for position, row in enumerate(rows, start=1):
        values = " | ".join(str(row["configuration"][f]) for f in flags)
        seeds = ", ".join(f"{run['validation_accuracy']:.4f}" for run in row["runs"])
        epochs = statistics.fmean(run["best_epoch"] for run in row["runs"])
        size = f"{row['estimated_size_mb']:.1f} MB" + (" (over budget)" if row["estimated_size_mb"] > budget_mb else "")
        lines.append(
            f"| {position} | {values} | {row['mean_validation_accuracy']:.4f} | {seeds} | {epochs:.1f} | {size} |"
        )
    return "\n".join(lines) + "\n"


def write_results(
    model: str,
    rows: list[dict[str, Any]],
    base: list[str],
    budget_mb: float,
    out: Path,
    command: str,
    stem: str | None = None,
) -> dict[str, Any]:
    for row in rows:
        row["estimated_size_mb"] = estimated_size_mb(model, row["configuration"], base)
    rows = rank(rows, budget_mb)
    out.mkdir(parents=True, exist_ok=True)
    result = {
        "model": model,
        "command": command,
        "base_flags": base,
        "max_size_mb": budget_mb,
        "selected": rows[0]["configuration"],
        "rows": rows,
    }
    stem = stem or model
    atomic_write_text(out / f"{stem}.json", json.dumps(result, indent=2) + "\n")
    atomic_write_text(out / f"{stem}.md", markdown_table(model, rows, base, budget_mb) + f"\nReproduce: `{command}`\n")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sentiment tune", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, choices=sorted(GRIDS), help="the model whose grid to search")
    parser.add_argument(
        "--grid",
        choices=sorted(GRID_SETS),
        default="plain",
        help="plain: embeddings and optimiser settings, trained on the labels; "
        "distilled: settings searched with a teacher (pass it in --extra)",
    )
    parser.add_argument("--seeds", type=int, default=2, help="training seeds per configuration (default: 2)")
    parser.add_argument("--dataset", default="rt-snippets", help="as for sentiment train (default: rt-snippets)")
    parser.add_argument(
        "--out", type=Path, default=Path("assets/tuning"), help="where the tables go (default: assets/tuning)"
    )
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: all cores)")
    parser.add_argument("--extra", default="", help="more sentiment train flags for every run")
    parser.add_argument(
        "--max-size-mb", type=float, default=10.0, help="size budget of a model directory in MB (default: 10)"
    )
    parser.add_argument(
        "--from-json", type=Path, help="re-rank the runs of an earlier OUT/<model>.json instead of training"
    )
    args = parser.parse_args(argv)
    command = "sentiment tune " + shlex.join(argv if argv is not None else sys.argv[1:])
    grids = GRID_SETS[args.grid]
    if args.model not in grids:
        parser.error(f"the {args.grid} grid has no entry for {args.model}; it covers {', '.join(grids)}")
    stem = args.model if args.grid == "plain" else f"{args.model}-{args.grid}"
    if args.from_json:
        earlier = json.loads(args.from_json.read_text())
        result = write_results(
            args.model, earlier["rows"], earlier["base_flags"], args.max_size_mb, args.out, earlier["command"], stem
        )
        print(f"best for {args.model}: {result['selected']}")
        return 0
    base = ["--dataset", args.dataset, "--quiet", "--skip-test", *shlex.split(args.extra)]
    if args.threads:
        base += ["--threads", str(args.threads)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="tune-") as scratch:
        for index, configuration in enumerate(configurations(grids[args.model])):
            runs = []
            for seed in range(1, args.seeds + 1):
                out = Path(scratch) / f"{index}-{seed}"
                flags = [
                    "--model",
                    args.model,
                    *base,
                    *as_arguments(configuration),
                    "--seed",
                    str(seed),
                    "--out",
                    str(out),
                ]
                started = time.perf_counter()
                if train.main(flags) != 0:
                    raise SystemExit(f"training failed for {configuration}")
                metrics = json.loads((out / "metrics.json").read_text())
                runs.append({"seed": seed, **validation_only(metrics)})
                print(
                    f"{args.model} {configuration} seed {seed}: validation accuracy "
                    f"{runs[-1]['validation_accuracy']:.4f} ({time.perf_counter() - started:.0f} s)",
                    flush=True,
                )
            rows.append(
                {
                    "configuration": configuration,
                    "runs": runs,
                    "mean_validation_accuracy": statistics.fmean(r["validation_accuracy"] for r in runs),
                }
            )
    result = write_results(args.model, rows, base, args.max_size_mb, args.out, command, stem)
    best = result["rows"][0]
    print(
        f"best for {args.model}: {best['configuration']} "
        f"(mean validation accuracy {best['mean_validation_accuracy']:.4f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
