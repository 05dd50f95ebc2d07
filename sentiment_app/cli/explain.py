"""`sentiment explain`: what a model saw in one text, as JSON.

Tokens with their character offsets and occlusion attributions (each token left out in turn), the
occlusion attribution of every word, the gate traces of
the first recurrent layer (per token: gate means, hidden and cell state norms; --full adds every
unit) and the per-token gradient norms || d loss / d embedding ||.
"""

from __future__ import annotations

import argparse
import json
import sys

from sentiment_app.cli.output import argument_text, output_failed
from sentiment_app.inference.explain import METHOD, explain
from sentiment_app.inference.internals import gradient_flow, trace_network
from sentiment_app.inference.predictor import EmptyTextError, load_predictor
from sentiment_app.storage.model_dir import ModelLoadError
from sentiment_app.tokenization import InvalidTextError

EPILOG = """example:
  sentiment explain --model lstm "Not bad at all, but the ending drags."
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
    parser.add_argument("--indent", type=int, default=2, help="JSON indentation (0: one line)")
    return parser


def explanation_record(model: str, text: str, full: bool = False) -> dict:
    predictor = load_predictor(model)
    prediction = predictor.predict([text])[0]
    attribution = explain(predictor, text)
    per_token = explain(predictor, text, level="token")
    trace = trace_network(predictor, text)
    flow = gradient_flow(predictor, text)
    return {
        "model": predictor.name,
        "text": text,
        "label": prediction.label,
        "probabilities": prediction.probabilities,
        "tokens": [
            {"token": token, "start": start, "end": end, "attribution": piece.score, "gradient_norm": norm}
            for token, (start, end), piece, norm in zip(flow.tokens, flow.offsets, per_token.words, flow.norms)
        ],
        "gradient_target": flow.target,
        "attribution_method": METHOD,
        "attributions": [{"word": w.text, "start": w.start, "end": w.end, "score": w.score} for w in attribution.words],
        "cell": trace.cell,
        "gate_traces": [direction.to_dict(full) for direction in trace.directions],
    }


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        record = explanation_record(args.model, argument_text(args.text, "the text"), args.full)
    except (ModelLoadError, EmptyTextError, InvalidTextError, ValueError) as error:
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
