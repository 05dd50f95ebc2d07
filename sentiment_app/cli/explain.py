"""`sentiment explain`: what a model saw in one text, as JSON.

Tokens with their character offsets and occlusion attributions (each token left out in turn), the
occlusion attribution of every word, the gate traces of the first recurrent layer (per token: gate
means, hidden and cell state norms; --full adds every unit), the per-token gradient norms
|| d loss / d embedding ||, and for recurrent models the units to explore: --span selects the
units on across a phrase and finds the reference phrases like it, --ablate holds units at a value.
"""

from __future__ import annotations

import argparse
import json
import sys

from sentiment_app.cli.output import argument_text, output_failed
from sentiment_app.inference.explain import METHOD, explain
from sentiment_app.inference.internals import gradient_flow, trace_network
from sentiment_app.inference.predictor import EmptyTextError, load_predictor
from sentiment_app.inference.units import (
    DEFAULT_THRESHOLD,
    UnitError,
    UnitExplorer,
    ablate_units,
    explore_units,
    parse_units,
)
from sentiment_app.storage.model_dir import ModelLoadError
from sentiment_app.tokenization import InvalidTextError

EPILOG = """examples:
  sentiment explain --model lstm "Not bad at all, but the ending drags."
  sentiment explain --model gru --span "ending drags" "Not bad at all, but the ending drags."
  sentiment explain --model gru --ablate 26,70,87 "Not bad at all, but the ending drags."
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentiment explain",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--model", required=True, help="a shipped model's name, a model directory or a Hub repo id USER/NAME"
    )
    parser.add_argument("text", help="the text to explain")
    parser.add_argument(
        "--full", action="store_true", help="include every unit's gate activations and states, not only summaries"
    )
    parser.add_argument(
        "--span",
        help="a phrase of the text: add the units that stay above --threshold across it and the reference "
        "phrases that switch on the most similar units (default: none)",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help=f"a unit is on above this hidden-state value, for --span (default: {DEFAULT_THRESHOLD})",
    )
    parser.add_argument(
        "--ablate", metavar="UNITS", help='units to hold at --clamp at every step, e.g. "3,17,42" (default: none)'
    )
    parser.add_argument("--clamp", type=float, default=0.0, help="the value --ablate holds the units at (default: 0)")
    parser.add_argument("--indent", type=int, default=2, help="JSON indentation (0: one line)")
    return parser


def explanation_record(
    model: str,
    text: str,
    full: bool = False,
    span: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    ablate: str | None = None,
    clamp: float = 0.0,
) -> dict:
    predictor = load_predictor(model)
    prediction = predictor.predict([text])[0]
    attribution = explain(predictor, text)
    per_token = explain(predictor, text, level="token")
    trace = trace_network(predictor, text)
    flow = gradient_flow(predictor, text)
    return {
        "model": predictor.name,
        "text": text,
        **prediction.to_dict(),
        "tokens": [
            {"token": token, "start": start, "end": end, "attribution": piece.score, "gradient_norm": norm}
            for token, (start, end), piece, norm in zip(flow.tokens, flow.offsets, per_token.words, flow.norms)
        ],
        "gradient_target": flow.target,
        "attribution_method": METHOD,
        "attributions": [{"word": w.text, "start": w.start, "end": w.end, "score": w.score} for w in attribution.words],
        "cell": trace.cell,
        "gate_traces": [direction.to_dict(full) for direction in trace.directions],
        **unit_records(predictor, text, span, threshold, ablate, clamp),
    }


def unit_records(predictor, text: str, span: str | None, threshold: float, ablate: str | None, clamp: float) -> dict:
    """The units on across `span` with their reference matches, and the prediction with `ablate` held."""
    if predictor.loaded.config.model.architecture != "recurrent":
        if span is not None or ablate is not None:
            raise UnitError(
                f"{predictor.name} has no recurrent units (it averages its word vectors): drop --span and --ablate"
            )
        return {}
    records: dict = {}
    if span is not None:
        records["units"] = explore_units(UnitExplorer(), predictor, text, span, threshold).to_dict()
    if ablate is not None:
        try:
            units = parse_units(ablate)
        except UnitError as error:
            raise UnitError(f"--ablate takes unit numbers such as 3,17,42, got {ablate!r}") from error
        records["ablation"] = ablate_units(predictor, text, units, clamp).to_dict()
    return records


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        text = argument_text(args.text, "the text")
        span = None if args.span is None else argument_text(args.span, "--span")
        record = explanation_record(args.model, text, args.full, span, args.threshold, args.ablate, args.clamp)
    except (ModelLoadError, EmptyTextError, InvalidTextError, UnitError, ValueError) as error:
        print(f"sentiment explain: error: {error}", file=sys.stderr)
        return 2
    try:
        print(json.dumps(record, indent=args.indent or None, ensure_ascii=False))
        sys.stdout.flush()
    except OSError as error:
        return output_failed("sentiment explain", error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
