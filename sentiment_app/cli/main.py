"""`sentiment`: one command for every task, each subcommand imported only when it runs."""

from __future__ import annotations

import errno
import importlib
import sys
from dataclasses import dataclass

from sentiment_app.cli.output import output_failed
from sentiment_app.paths import PACKAGE_ROOT

OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EPIPE}
TRAINING_EXTRAS = "pip install -r requirements-dev.txt (or pip install -e '.[train]')"


@dataclass(frozen=True)
class Subcommand:
    module: str  # has main(argv) -> exit code
    summary: str
    needs_training_extras: bool = False


# Imported by name so that serving never loads the training stack (and the library never
# imports `training`, which sits above it).
SUBCOMMANDS: dict[str, Subcommand] = {
    "serve": Subcommand("sentiment_app.cli.serve", "serve the web app and its API on the shipped models or yours"),
    "predict": Subcommand("sentiment_app.cli.predict", "score texts from standard input or a file, as JSON Lines"),
    "explain": Subcommand("sentiment_app.cli.explain", "what a model saw in one text: words, gates, gradients (JSON)"),
    "train": Subcommand("training.train", "train models from a recipe (training/recipes/) or flags", True),
    "teacher": Subcommand("training.distill.teacher", "fine-tune the transformer teacher used for distillation", True),
    "compare": Subcommand("training.evaluation.compare", "rebuild the comparison table of a directory of models", True),
    "calibrate": Subcommand(
        "training.evaluation.calibrate", "fit temperature and the unsure band on validation; measure ECE", True
    ),
    "verify": Subcommand(
        "training.evaluation.verify_backends",
        "check the ONNX and bfloat16 backends against PyTorch and record it",
        True,
    ),
    "fidelity": Subcommand(
        "training.distill.fidelity", "how closely students follow their teacher on validation", True
    ),
    "tune": Subcommand("training.experiments.tune", "a small hyperparameter search, chosen on validation", True),
    "long-range": Subcommand("training.experiments.long_range", "the long-range memory experiment and its plot", True),
    "gradient-decay": Subcommand(
        "training.experiments.gradient_decay", "how the gradient through time shrinks with distance, per cell", True
    ),
    "push": Subcommand("sentiment_app.cli.push", "share a trained model directory on the Hugging Face Hub"),
    "deploy": Subcommand("sentiment_app.cli.deploy", "upload the app and its models to a Hugging Face Space"),
    "bench": Subcommand("benchmarks.run", "speed benchmarks, each against a baseline (from a checkout)", True),
}

EXAMPLES = """examples:
  sentiment serve                                   # the web app on http://127.0.0.1:7860
  echo "Not bad at all." | sentiment predict        # JSON Lines with label and probabilities
  sentiment explain --model lstm "The first half drags, but the ending is wonderful."
  sentiment train --recipe bilstm --dry-run         # the shipped BiLSTM's settings
  sentiment train --model gru --out runs/gru        # your own model; then: sentiment serve --models-dir runs
  sentiment <command> --help                        # every flag of a command, with examples
"""


def usage() -> str:
    width = max(map(len, SUBCOMMANDS))
    lines = [f"  {name.ljust(width)}  {command.summary}" for name, command in SUBCOMMANDS.items()]
    return (
        "usage: sentiment <command> [options]\n\n"
        "Sentiment analysis with recurrent networks: serve, predict, explain, train.\n\n"
        "commands:\n" + "\n".join(lines) + "\n\n" + EXAMPLES
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    if argv[0] == "--version":
        from sentiment_app import __version__

        print(f"sentiment {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    command = SUBCOMMANDS.get(name)
    if command is None:
        print(
            f"sentiment: unknown command {name!r}; choose from {', '.join(SUBCOMMANDS)} (sentiment --help lists them)",
            file=sys.stderr,
        )
        return 2
    if command.module.startswith("benchmarks.") and (PACKAGE_ROOT / "benchmarks").is_dir():
        sys.path.insert(0, str(PACKAGE_ROOT))  # benchmarks/ is not installed: it lives in the checkout
    try:
        module = importlib.import_module(command.module)
    except ModuleNotFoundError as error:
        if command.module.startswith("benchmarks.") and error.name and error.name.startswith("benchmarks"):
            print("sentiment bench: the benchmarks live in a checkout of the repository: run it there", file=sys.stderr)
            return 2
        if command.needs_training_extras:
            print(
                f"sentiment {name}: needs {error.name}, one of the training dependencies: {TRAINING_EXTRAS}",
                file=sys.stderr,
            )
            return 2
        raise
    try:
        return module.main(rest)
    except OSError as error:  # what a command did not catch itself: still one line, exit 1
        if isinstance(error, BrokenPipeError) or error.errno in OUTPUT_ERRNOS:
            return output_failed(f"sentiment {name}", error)
        raise


if __name__ == "__main__":
    sys.exit(main())
