"""Where `predict()` on many long texts spends its time: the whole call, its tokenisation, its
scoring in batches, and the model's runner on the same texts as one batch, timed in turn.

    python -m benchmarks.predict_path                 # bilstm
    python -m benchmarks.predict_path --models bilstm,lstm,gru
"""

from __future__ import annotations

import argparse
import functools
import sys

import torch

from benchmarks.inference_speed import sample_text
from benchmarks.timing import Roofline, forward_flops_per_token, timed_alternately
from sentiment_app.inference.batched import batched_probabilities
from sentiment_app.inference.predictor import load_predictor
from sentiment_app.tokenization import pad_batch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.predict_path", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="bilstm", help="comma-separated shipped models (default: bilstm)")
    parser.add_argument("--texts", type=int, default=256, help="long texts of about 300 tokens (default: 256)")
    args = parser.parse_args(argv)
    roofline = Roofline(1536, torch.device("cpu"))
    for name in args.models.split(","):
        predictor = load_predictor(name)
        texts = [sample_text(predictor, 300)] * args.texts
        id_lists = predictor.encoder.encode_ids(texts)
        one_batch = pad_batch(id_lists, predictor.encoder.padding_id)
        flops = forward_flops_per_token(predictor.model.config) * one_batch.lengths.sum().item()
        roofline.measure()
        timers = {
            "predict()": functools.partial(predictor.predict, texts),
            "tokenisation": functools.partial(predictor.encode, texts),
            "scoring in batches": functools.partial(
                batched_probabilities, predictor.runner, id_lists, predictor.encoder.padding_id, predictor.batch_size
            ),
            "runner, one batch": functools.partial(predictor.runner, one_batch.token_ids, one_batch.lengths),
        }
        with torch.inference_mode():
            runs = timed_alternately(timers, repeats=8, warmup=2)
        peak = roofline.highest
        print(f"{name} ({predictor.backend}), {len(texts)} texts, fp32 peak {peak:.0f} GFLOP/s:")
        for label, seconds in runs.items():
            share = "" if label == "tokenisation" else f", {flops / min(seconds) / 1e9 / peak:.0%} of the peak"
            print(f"  {label:<20} {1e3 * min(seconds):7.1f} ms{share}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
