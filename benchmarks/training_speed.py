"""The training section: length-bucketed batches against naive padding, and against the fp32 peak."""

from __future__ import annotations

import functools
from typing import Any

import torch

from benchmarks.timing import Roofline, forward_flops_per_token, synchronized, timed_alternately
from sentiment_app.inference.backends.bfloat16 import bfloat16_native
from sentiment_app.inference.predictor import load_predictor
from sentiment_app.models.classifiers import build_model

# measured training epochs per strategy (full mode), the fastest kept: on a shared machine whose
# speed drifts by up to 30%, more epochs give the quiet spells more chances to show
TRAINING_EPOCHS = 5


def training_section(
    names: list[str], quick: bool, roofline: Roofline, device: torch.device = torch.device("cpu")
) -> list[dict[str, Any]]:
    from training.data.sources import load_rt_snippets
    from training.trainer import EncodedSplit, Trainer, TrainingConfig, encode_split

    splits = load_rt_snippets(seed=13)
    rows = []
    bfloat16_roofline: Roofline | None = None  # measured only where a row trains in bfloat16
    # the shipped models, plus a BiLSTM of the shape the speed issue measured (128/128)
    variants = [(name, None) for name in names]
    if "bilstm" in names:
        variants.append(("bilstm", {"embedding_dim": 128}))
    for name, changes in variants:
        predictor = load_predictor(name, backend="torch")
        encoder = predictor.encoder
        data = encode_split(encoder, splits.train)
        if quick:
            data = EncodedSplit(data.ids[:640], data.labels[:640])
        config = predictor.model.config
        if changes:
            import dataclasses

            config = dataclasses.replace(config, **changes)
        label = name if not changes else f"{name} (embedding {config.embedding_dim})"
        flops = 3 * forward_flops_per_token(config)  # forward + backward ~ 3x forward
        tokens = int(data.ids.lengths.sum())
        longest = int(data.ids.lengths.max())
        results = {}
        peak = roofline.measure()
        strategies = ["bucketed", "naive"]
        if name == "bilstm" and bfloat16_native(device):  # the speed target's model
            strategies.append("bfloat16")  # bucketed, in bfloat16 mixed precision
            bfloat16_roofline = bfloat16_roofline or Roofline(roofline.size, device, torch.bfloat16)
            bfloat16_peak = bfloat16_roofline.measure()
        trainers = {}
        for strategy in strategies:
            torch.manual_seed(0)
            model = build_model(config)
            precision = "bfloat16" if strategy == "bfloat16" else "float32"
            trainer = Trainer(
                model,
                TrainingConfig(batch_size=64, precision=precision),
                data,
                data,
                encoder.padding_id,
                config.labels,
                show_progress=False,
                device=device,
            )
            if strategy == "naive":
                # every batch padded to the longest text of the data set, in random order: the
                # same work as running the model over that many steps for every text
                # (equal lengths: no bucketing)
                padded = [ids.tolist() + [encoder.padding_id] * (longest - len(ids)) for ids in data.ids]
                trainer.train_split = EncodedSplit(padded, data.labels)
            trainer.train_epoch(0)  # warm-up epoch (allocator, threads)
            trainers[strategy] = trainer
        # The two strategies' epochs alternate and each keeps its fastest: a slow stretch of the
        # machine (another process waking) then neither moves the ratio nor sets a figure.
        # (each step reads its loss and gradient norm, so an epoch ends with the GPU's work)
        epochs = timed_alternately(
            {
                strategy: synchronized(functools.partial(trainer.train_epoch, 1), device)
                for strategy, trainer in trainers.items()
            },
            repeats=1 if quick else TRAINING_EPOCHS,
            warmup=0,
        )
        for strategy, samples in epochs.items():
            seconds = min(samples)
            samples_per_second = len(data) / seconds
            results[strategy] = {
                "samples_per_second": samples_per_second,
                "tokens_per_second": tokens / seconds,
                "roofline_fraction": tokens / seconds * flops / 1e9 / peak,
            }
        row = {
            "model": label,
            "forward_kflop_per_token": forward_flops_per_token(config) / 1e3,
            "mean_tokens": tokens / len(data),
            **{f"{k}_{m}": v for k, r in results.items() for m, v in r.items()},
            "speedup_over_naive": results["bucketed"]["samples_per_second"] / results["naive"]["samples_per_second"],
        }
        if "bfloat16" in results:
            row["bfloat16_speedup_over_float32"] = (
                results["bfloat16"]["samples_per_second"] / results["bucketed"]["samples_per_second"]
            )
            row["bfloat16_peak_gflops"] = bfloat16_peak
            row["bfloat16_share_of_bfloat16_peak"] = (
                results["bfloat16"]["tokens_per_second"] * flops / 1e9 / bfloat16_peak
            )
        rows.append(row)
        print(
            f"training {label}: {results['bucketed']['samples_per_second']:,.0f} samples/s bucketed, "
            f"{results['naive']['samples_per_second']:,.0f} naive, "
            f"{results['bucketed']['roofline_fraction']:.0%} of the fp32 peak"
            + (
                f"; bfloat16 {results['bfloat16']['samples_per_second']:,.0f} samples/s, "
                f"{results['bfloat16']['roofline_fraction']:.0%} of the fp32 peak"
                if "bfloat16" in results
                else ""
            ),
            flush=True,
        )
    return rows


# --- inference --------------------------------------------------------------------------------
