"""The inference section: one text through the predictor, throughput, and long batches against the roofline."""

from __future__ import annotations

import functools
from typing import Any

import torch
from tokenizers import Tokenizer

from benchmarks.report import roofline_pair
from benchmarks.timing import Roofline, forward_flops_per_token, percentiles, synchronized, timed, timed_alternately
from sentiment_app.inference.batched import batched_probabilities
from sentiment_app.inference.predictor import BackendError, load_predictor
from sentiment_app.tokenization import pad_batch


def sample_text(predictor, tokens: int) -> str:
    """Review-like text of `tokens` tokens before truncation (the model reads at most max_length
    of them). Counted by an untruncated copy of the tokenizer: counting the overflow of the
    truncating one depends on the tokenizers version reporting it, and never ended on a machine
    where it seemingly did not."""
    counter = Tokenizer.from_str(predictor.encoder.tokenizer.to_str())
    counter.no_truncation()
    words = (
        "the film is a quietly moving portrait of grief and friendship , but its pacing "
        "drags in the middle and the ending feels rushed . "
    ).split()
    text_words: list[str] = []
    while len(counter.encode(" ".join(text_words)).ids) < tokens:
        text_words.append(words[len(text_words) % len(words)])
    return " ".join(text_words)


def inference_section(names: list[str], quick: bool, roofline: Roofline) -> list[dict[str, Any]]:
    from training.data.sources import load_rt_snippets

    repeats = 200 if quick else 1000
    texts = load_rt_snippets(seed=13).test["text"][:1000]
    rows = []
    for name in names:
        fast = load_predictor(name, backend="auto")
        eager = load_predictor(name, backend="torch")
        row: dict[str, Any] = {"model": name, "backend": fast.backend}
        for tokens in (30, 300):
            text = sample_text(fast, tokens)
            batch = pad_batch(fast.encoder.encode_ids([text]), fast.encoder.padding_id)
            with torch.inference_mode():
                eager_model = timed(lambda: eager.model(batch.token_ids, batch.lengths), repeats)
            runner_only = timed(lambda: fast.runner(batch.token_ids, batch.lengths), repeats)
            public = timed(lambda: fast.predict([text]), repeats)
            row[f"eager_model_{tokens}"] = percentiles(eager_model)
            row[f"model_{tokens}"] = percentiles(runner_only)
            row[f"predictor_{tokens}"] = percentiles(public)
        # best of a few runs after a warm-up, each predictor in turn
        throughput_repeats = 2 if quick else 5
        row["throughput_texts_per_second"] = len(texts) / min(
            timed(lambda: fast.predict(texts), throughput_repeats, warmup=1)
        )
        row["eager_throughput_texts_per_second"] = len(texts) / min(
            timed(lambda: eager.predict(texts), throughput_repeats, warmup=1)
        )
        # the same texts, already tokenised, scored in batches of 64 by each backend in turn
        ids = [row_ids for row_ids in fast.encoder.encode_ids(texts) if row_ids]
        for label, runner in (("fast", fast.runner), ("eager", eager.model)):
            with torch.inference_mode():
                best = min(
                    timed(
                        lambda: batched_probabilities(runner, ids, fast.encoder.padding_id),
                        throughput_repeats,
                        warmup=1,
                    )
                )
            row[f"batch_scoring_{label}_texts_per_second"] = len(ids) / best
        # batch inference on long texts against the forward roofline
        long_texts = [sample_text(fast, 300)] * (32 if quick else 256)
        long_batch = pad_batch(fast.encoder.encode_ids(long_texts), fast.encoder.padding_id)
        flops = forward_flops_per_token(fast.model.config) * long_batch.lengths.sum().item()
        peak = roofline.measure()
        # the backends in turn, each keeping its fastest run (a slow stretch then hits them all);
        # bfloat16 too where this CPU multiplies in it and the model passed its check
        runners = {"eager": eager.model, "fast": fast.runner}
        try:
            runners["bfloat16"] = load_predictor(name, backend="bfloat16").runner
        except BackendError:  # no bfloat16 arithmetic here, or no passed check for this model
            pass
        timers = {
            label: functools.partial(runner, long_batch.token_ids, long_batch.lengths)
            for label, runner in runners.items()
        }
        # and the public API's default path on the same texts: tokenising, batching, scoring
        timers["predictor"] = functools.partial(fast.predict, long_texts)
        with torch.inference_mode():
            runs = timed_alternately(timers, repeats=3 if quick else 15, warmup=2)
        for label, seconds in runs.items():
            row[f"long_batch_{label}_roofline_fraction"] = flops / min(seconds) / 1e9 / peak
        rows.append(row)
        print(
            f"inference {name} ({fast.backend}): 30 tokens p50 {row['predictor_30']['p50_ms']:.3f} ms "
            f"(model {row['model_30']['p50_ms']:.3f}, eager {row['eager_model_30']['p50_ms']:.3f}); "
            f"long batch {roofline_pair(row)} of peak (ONNX Runtime / PyTorch"
            f"{' / bfloat16' if 'bfloat16' in runners else ''}); predict() on the same texts "
            f"{row['long_batch_predictor_roofline_fraction']:.0%}",
            flush=True,
        )
    return rows


def device_inference_section(
    names: list[str], quick: bool, roofline: Roofline, device: torch.device
) -> list[dict[str, Any]]:
    """On a GPU: eager PyTorch only (the predictor's ONNX Runtime sessions run on the CPU). One
    text of about 30 tokens, p50/p99; and 256 long texts in one batch against the fp32 peak."""
    repeats = 100 if quick else 500
    rows = []
    for name in names:
        eager = load_predictor(name, backend="torch")
        model = eager.model.to(device)
        row: dict[str, Any] = {"model": name, "backend": f"torch ({device.type})"}
        with torch.inference_mode():
            batch = pad_batch(eager.encoder.encode_ids([sample_text(eager, 30)]), eager.encoder.padding_id)
            ids, lengths = batch.token_ids.to(device), batch.lengths.to(device)
            row["eager_model_30"] = percentiles(timed(synchronized(lambda: model(ids, lengths), device), repeats))
            long_batch = pad_batch(
                eager.encoder.encode_ids([sample_text(eager, 300)] * (32 if quick else 256)), eager.encoder.padding_id
            )
            ids, lengths = long_batch.token_ids.to(device), long_batch.lengths.to(device)
            flops = forward_flops_per_token(model.config) * long_batch.lengths.sum().item()
            peak = roofline.measure()
            best = min(timed(synchronized(lambda: model(ids, lengths), device), 3 if quick else 20, warmup=3))
            row["long_batch_texts_per_second"] = long_batch.lengths.numel() / best
            row["long_batch_eager_roofline_fraction"] = flops / best / 1e9 / peak
        rows.append(row)
        print(
            f"inference {name} on {device}: 30 tokens p50 {row['eager_model_30']['p50_ms']:.3f} ms; "
            f"long batch {row['long_batch_eager_roofline_fraction']:.1%} of peak",
            flush=True,
        )
    return rows


# --- the app over HTTP ------------------------------------------------------------------------
