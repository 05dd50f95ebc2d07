"""Speed benchmarks, each against a baseline measured in the same run.

    python -m benchmarks.run                 # full: the figures in the README (several minutes)
    python -m benchmarks.run --quick         # smoke run for CI (seconds)
    python -m benchmarks.run --device cuda   # training and batch inference on a GPU

Sections:
    training    samples/s and tokens/s per model: our length-bucketed batches against naive
                padding to the longest text, and as a fraction of the fp32 matrix-multiply peak
                measured in the same run; the BiLSTM also in bfloat16 mixed precision where the
                hardware multiplies in bfloat16 (against both peaks)
    inference   single-text latency p50/p99 (about 30 and 300 tokens) through the public
                predictor, against plain eager PyTorch; throughput on 1,000 texts; batch
                inference on long texts against the forward roofline (also in bfloat16 where
                the CPU multiplies in it and the model passed its check)
    app         round trip of the `predict` endpoint over Gradio's REST API and through
                gradio_client, against a do-nothing endpoint in the same app (called in turn)
    cold start  process start to first answered request: our app against a do-nothing app
    memory      peak resident memory of the training and serving processes

Writes OUT.json and OUT.md (default benchmarks/results).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer

from sentiment_app.inference.backends.bfloat16 import bfloat16_native
from sentiment_app.inference.batched import batched_probabilities
from sentiment_app.inference.predictor import BackendError, available_models, load_predictor
from sentiment_app.models.classifiers import build_model
from sentiment_app.paths import models_dir
from sentiment_app.storage.atomic import atomic_write_text
from sentiment_app.tokenization import pad_batch

ROOT = Path(__file__).resolve().parent.parent
GATES = {"rnn": 1, "gru": 3, "lstm": 4}
DEFAULT_OUT = ROOT / "benchmarks" / "results"
# measured training epochs per strategy (full mode), the fastest kept: on a shared machine whose
# speed drifts by up to 30%, more epochs give the quiet spells more chances to show
TRAINING_EPOCHS = 5


# --- helpers ----------------------------------------------------------------------------------


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": 1e3 * ordered[len(ordered) // 2],
        "p99_ms": 1e3 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
    }


def timed_alternately(functions: dict[str, Callable[[], Any]], repeats: int, warmup: int = 5) -> dict[str, list[float]]:
    """Seconds per call of each function, calling them in turn (a, b, a, b, ...) so that a
    machine whose speed drifts during the run moves every sample set alike: the differences
    between them are then the functions' own."""
    for _ in range(warmup):
        for function in functions.values():
            function()
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            started = time.perf_counter()
            function()
            samples[name].append(time.perf_counter() - started)
    return samples


def timed(function: Callable[[], Any], repeats: int, warmup: int = 20) -> list[float]:
    return timed_alternately({"only": function}, repeats, warmup)["only"]


def synchronized(function: Callable[[], Any], device: torch.device) -> Callable[[], Any]:
    """`function`, waiting for the GPU to finish its work before returning (CPU: unchanged)."""
    if device.type != "cuda":
        return function

    def call() -> Any:
        result = function()
        torch.cuda.synchronize(device)
        return result

    return call


def matmul_peak_gflops(
    size: int = 1536, repeats: int = 10, device: torch.device = torch.device("cpu"), dtype: torch.dtype = torch.float32
) -> float:
    """The fp32 matrix-multiply rate this machine reaches with torch's threads (or on the GPU,
    true fp32: TF32 is switched off): the roofline. With dtype bfloat16, the bfloat16 rate."""
    first = torch.randn(size, size, device=device, dtype=dtype)
    second = torch.randn(size, size, device=device, dtype=dtype)
    best = min(timed(synchronized(lambda: torch.mm(first, second), device), repeats, warmup=3))
    return 2 * size**3 / best / 1e9


class Roofline:
    """The fp32 matmul peak, measured again before every model's figures. A machine whose speed
    drifts during a run would make a share of one early measurement look better or worse than it
    is; each share uses the highest peak measured so far (the conservative choice)."""

    def __init__(
        self, size: int, device: torch.device = torch.device("cpu"), dtype: torch.dtype = torch.float32
    ) -> None:
        self.size = size
        self.device = device
        self.dtype = dtype
        self.highest = 0.0

    def measure(self) -> float:
        self.highest = max(self.highest, matmul_peak_gflops(self.size, device=self.device, dtype=self.dtype))
        return self.highest


def forward_flops_per_token(config) -> float:
    """Multiply-adds of the recurrent layers per token (x2 for FLOPs), all directions; 0 for the
    bag of embeddings, whose per-token work is a lookup and a sum (no roofline to speak of)."""
    if config.architecture != "recurrent":
        return 0.0
    gates, hidden = GATES[config.cell], config.hidden_dim
    total, inputs = 0.0, config.embedding_dim
    for _ in range(config.num_layers):
        total += config.num_directions * 2 * gates * hidden * (inputs + hidden)
        inputs = hidden * config.num_directions
    return total


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- training ---------------------------------------------------------------------------------


def training_section(
    names: list[str], quick: bool, roofline: Roofline, device: torch.device = torch.device("cpu")
) -> list[dict[str, Any]]:
    from training.data.sources import load_rt_snippets
    from training.trainer import EncodedSplit, Trainer, TrainingConfig

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
        id_lists = encoder.encode_ids(splits.train["text"])
        keep = [i for i, ids in enumerate(id_lists) if ids]
        data = EncodedSplit([id_lists[i] for i in keep], [splits.train["label"][i] for i in keep])
        if quick:
            data = EncodedSplit(data.id_lists[:640], data.labels[:640])
        config = predictor.model.config
        if changes:
            import dataclasses

            config = dataclasses.replace(config, **changes)
        label = name if not changes else f"{name} (embedding {config.embedding_dim})"
        flops = 3 * forward_flops_per_token(config)  # forward + backward ~ 3x forward
        tokens = sum(len(ids) for ids in data.id_lists)
        longest = max(len(ids) for ids in data.id_lists)
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
                padded = [list(ids) + [encoder.padding_id] * (longest - len(ids)) for ids in data.id_lists]
                trainer.train_split = EncodedSplit(padded, data.labels)
                trainer.train_lengths = [longest] * len(padded)  # equal lengths: no bucketing
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
        long_batch = pad_batch(
            fast.encoder.encode_ids([sample_text(fast, 300)] * (32 if quick else 256)), fast.encoder.padding_id
        )
        flops = forward_flops_per_token(fast.model.config) * long_batch.lengths.sum().item()
        peak = roofline.measure()
        # the backends in turn, each keeping its fastest run (a slow stretch then hits them all);
        # bfloat16 too where this CPU multiplies in it and the model passed its check
        runners = {"eager": eager.model, "fast": fast.runner}
        try:
            runners["bfloat16"] = load_predictor(name, backend="bfloat16").runner
        except BackendError:  # no bfloat16 arithmetic here, or no passed check for this model
            pass
        with torch.inference_mode():
            runs = timed_alternately(
                {
                    label: functools.partial(runner, long_batch.token_ids, long_batch.lengths)
                    for label, runner in runners.items()
                },
                repeats=3 if quick else 15,
                warmup=2,
            )
        for label, seconds in runs.items():
            row[f"long_batch_{label}_roofline_fraction"] = flops / min(seconds) / 1e9 / peak
        rows.append(row)
        print(
            f"inference {name} ({fast.backend}): 30 tokens p50 {row['predictor_30']['p50_ms']:.3f} ms "
            f"(model {row['model_30']['p50_ms']:.3f}, eager {row['eager_model_30']['p50_ms']:.3f}); "
            f"long batch {roofline_pair(row)} of peak (ONNX Runtime / PyTorch"
            f"{' / bfloat16' if 'bfloat16' in runners else ''})",
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


def app_section(quick: bool) -> dict[str, Any]:
    import gradio as gr
    import httpx
    from gradio_client import Client

    from benchmarks.rest import call
    from sentiment_app.app.service import SentimentService
    from sentiment_app.app.ui import build_demo, launch_options

    demo = build_demo(SentimentService.from_directory())
    with demo:

        def noop(text: str) -> str:
            """Returns its input: the do-nothing baseline."""
            return text

        gr.api(noop, api_name="noop")
    demo.launch(prevent_thread_lock=True, server_port=free_port(), quiet=True, **launch_options())
    url = demo.local_url
    repeats = 30 if quick else 300
    text = "A gripping, beautifully acted film that stays with you long after the credits."
    result: dict[str, Any] = {}
    with httpx.Client() as http:
        rest = timed_alternately(
            {
                "noop": lambda: call(http, url, "noop", [text]),
                "predict": lambda: call(http, url, "predict", [text, ""]),
            },
            repeats,
        )
    client = Client(url, verbose=False)
    client_repeats = 20 if quick else 100
    through_client = timed_alternately(
        {
            "noop": lambda: client.predict(text, api_name="/noop"),
            "predict": lambda: client.predict(text, "", api_name="/predict"),
        },
        client_repeats,
        warmup=3,
    )
    for endpoint in ("noop", "predict"):
        result[f"rest_{endpoint}"] = percentiles(rest[endpoint])
        result[f"client_{endpoint}"] = percentiles(through_client[endpoint])
    demo.close()
    result["rest_predict_minus_noop_p50_ms"] = result["rest_predict"]["p50_ms"] - result["rest_noop"]["p50_ms"]
    print(
        f"app: REST predict p50 {result['rest_predict']['p50_ms']:.2f} ms vs do-nothing "
        f"{result['rest_noop']['p50_ms']:.2f} ms; gradio_client {result['client_predict']['p50_ms']:.1f} "
        f"vs {result['client_noop']['p50_ms']:.1f} ms",
        flush=True,
    )
    return result


NOOP_APP = """
import gradio as gr
def noop(text: str) -> str:
    return text
with gr.Blocks() as demo:
    gr.api(noop, api_name="predict")
demo.launch()
"""


def first_answer_seconds(command: list[str], data: list[Any], env: dict[str, str]) -> tuple[float, float]:
    """Seconds from process start to the first answered `predict` call; and the process's peak
    resident memory in MiB."""
    import httpx

    from benchmarks.rest import call

    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**env, "GRADIO_SERVER_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client() as http:
            while time.perf_counter() - started < 120:
                try:
                    call(http, url, "predict", data, timeout=10)
                    elapsed = time.perf_counter() - started
                    break
                except Exception:
                    time.sleep(0.02)
            else:
                raise RuntimeError(f"{command} did not answer within 120 s")
        import psutil

        peak = psutil.Process(process.pid).memory_info().rss / 2**20
    finally:
        process.terminate()
        process.wait(timeout=30)
    return elapsed, peak


def cold_start_section(quick: bool) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False"}
    runs = 1 if quick else 3
    ours, baseline, memory = [], [], []
    for _ in range(runs):
        seconds, peak = first_answer_seconds([sys.executable, "app.py"], ["A fine film.", ""], env)
        ours.append(seconds)
        memory.append(peak)
        baseline.append(first_answer_seconds([sys.executable, "-c", NOOP_APP], ["A fine film."], env)[0])
    load = subprocess.run(
        [
            sys.executable,
            "-c",
            "import time; t = time.perf_counter(); "
            "from sentiment_app.app.service import SentimentService; SentimentService.from_directory(); "
            "print(time.perf_counter() - t)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result = {
        "app_seconds": statistics.median(ours),
        "noop_app_seconds": statistics.median(baseline),
        "import_and_load_models_seconds": float(load.stdout.strip().splitlines()[-1]),
        "app_rss_mib_after_first_answer": statistics.median(memory),
    }
    result["app_minus_noop_seconds"] = result["app_seconds"] - result["noop_app_seconds"]
    print(
        f"cold start: app {result['app_seconds']:.2f} s, do-nothing app {result['noop_app_seconds']:.2f} s", flush=True
    )
    return result


# --- report -----------------------------------------------------------------------------------


def batch_scoring_pair(row: dict[str, Any]) -> str:
    return f"{row['batch_scoring_fast_texts_per_second']:,.0f} / {row['batch_scoring_eager_texts_per_second']:,.0f}"


def roofline_pair(row: dict[str, Any]) -> str:
    fast, eager = row["long_batch_fast_roofline_fraction"], row["long_batch_eager_roofline_fraction"]
    mixed = row.get("long_batch_bfloat16_roofline_fraction")
    return (f"{fast:.0%} / {eager:.0%}" + (f" / {mixed:.0%}" if mixed else "")) if fast else "—"


def bfloat16_cell(row: dict[str, Any], share_format: str) -> str:
    """samples/s, speed-up over float32, and shares of the fp32 and bfloat16 peaks."""
    if "bfloat16_samples_per_second" not in row:
        return "—"
    return (
        f"{row['bfloat16_samples_per_second']:,.0f} ({row['bfloat16_speedup_over_float32']:.2f}x); "
        f"{format(row['bfloat16_roofline_fraction'], share_format)} of fp32 peak, "
        f"{format(row['bfloat16_share_of_bfloat16_peak'], share_format)} of bf16 peak"
    )


def training_table(title: str, rows: list[dict[str, Any]], share_format: str) -> list[str]:
    mixed = any("bfloat16_samples_per_second" in row for row in rows)
    header = "| model | samples/s (ours) | samples/s (naive padding) | speed-up | tokens/s | share of fp32 peak |"
    lines = [
        title,
        "",
        header + (" bfloat16 mixed precision: samples/s (vs fp32); shares of peak |" if mixed else ""),
        "|---|---|---|---|---|---|" + ("---|" if mixed else ""),
    ]
    for row in rows:
        share = row["bucketed_roofline_fraction"]
        lines.append(
            f"| {row['model']} | {row['bucketed_samples_per_second']:,.0f} "
            f"| {row['naive_samples_per_second']:,.0f} | {row['speedup_over_naive']:.2f}x "
            f"| {row['bucketed_tokens_per_second']:,.0f} | {format(share, share_format) if share else '—'} |"
            + (f" {bfloat16_cell(row, share_format)} |" if mixed else "")
        )
    peaks = {round(row["bfloat16_peak_gflops"]) for row in rows if "bfloat16_peak_gflops" in row}
    if peaks:
        lines += [
            "",
            f"bfloat16 matrix-multiply peak measured in the same run: {max(peaks):,} GFLOP/s. "
            "Only the float32 figures are exact training; bfloat16 is `--precision bfloat16`.",
        ]
    return lines + [""]


def epoch_count(report: dict[str, Any]) -> str:
    """How many measured epochs each training figure is the fastest of, in words."""
    count = report.get("training_epochs", 3)
    words = {1: "one epoch", 3: "three epochs", 5: "five epochs"}
    return words.get(count, f"{count} epochs")


def device_markdown(report: dict[str, Any]) -> str:
    """The report of a GPU run: training and eager inference on the device."""
    lines = [
        f"Measured on {report['device']} ({report['machine']}) with `{report['command']}`; fp32 "
        f"matrix-multiply peak on the GPU (TF32 off): **{report['peak_gflops'] / 1000:.1f} TFLOP/s**.",
        "",
    ]
    if report.get("training"):
        lines += training_table(
            f"**Training** (batch 64, as on the CPU; after a warm-up epoch, the fastest of {epoch_count(report)})",
            report["training"],
            share_format=".1%",
        )
    if report.get("inference"):
        lines += [
            "**Inference**, eager PyTorch on the GPU",
            "",
            "| model | one text of 30 tokens, p50 / p99 ms | 256 texts of 300 tokens, texts/s | share of fp32 peak |",
            "|---|---|---|---|",
        ]
        for row in report["inference"]:
            share = row["long_batch_eager_roofline_fraction"]
            lines.append(
                f"| {row['model']} | {row['eager_model_30']['p50_ms']:.3f} / {row['eager_model_30']['p99_ms']:.3f} "
                f"| {row['long_batch_texts_per_second']:,.0f} | {f'{share:.1%}' if share else '—'} |"
            )
        lines.append("")
    return "\n".join(lines)


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Measured on {report['machine']} with `{report['command']}`; fp32 matrix-multiply "
        f"peak: **{report['peak_gflops']:.0f} GFLOP/s**, the highest of its measurements in this run (one before each model's figures; every share uses the highest so far).",
        "",
    ]
    if report.get("training"):
        lines += training_table(
            f"**Training** (the rt-snippets training split, batch 64; after a warm-up epoch, the fastest of {epoch_count(report)} for each strategy, the strategies taking turns)",
            report["training"],
            share_format=".0%",
        )
    if report.get("inference"):
        lines += [
            "**Inference**, one text at a time (p50 / p99 in ms) and in bulk",
            "",
            "| model | backend | predictor, 30 tokens | model only, 30 | eager PyTorch, 30 "
            "| predictor, 300 tokens | eager PyTorch, 300 | texts/s (1,000 texts) | eager texts/s "
            "| 1,000 tokenised texts in batches of 64, texts/s (ONNX Runtime / PyTorch) "
            "| 256 long texts in one batch, share of the fp32 peak (ONNX Runtime / PyTorch"
            + (
                " / PyTorch in bfloat16"
                if any("long_batch_bfloat16_roofline_fraction" in row for row in report["inference"])
                else ""
            )
            + ") |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in report["inference"]:

            def pair(key: str) -> str:
                return f"{row[key]['p50_ms']:.3f} / {row[key]['p99_ms']:.3f}"

            lines.append(
                f"| {row['model']} | {row['backend']} | {pair('predictor_30')} | {pair('model_30')} "
                f"| {pair('eager_model_30')} | {pair('predictor_300')} | {pair('eager_model_300')} "
                f"| {row['throughput_texts_per_second']:,.0f} | {row['eager_throughput_texts_per_second']:,.0f} "
                f"| {batch_scoring_pair(row)} | {roofline_pair(row)} |"
            )
        lines.append("")
    if report.get("app"):
        app = report["app"]
        lines += [
            "**App round trip** on loopback (p50 / p99 in ms)",
            "",
            "| endpoint | REST (`/gradio_api/call/...`) | gradio_client |",
            "|---|---|---|",
            f"| do-nothing | {app['rest_noop']['p50_ms']:.2f} / {app['rest_noop']['p99_ms']:.2f} "
            f"| {app['client_noop']['p50_ms']:.1f} / {app['client_noop']['p99_ms']:.1f} |",
            f"| predict (bilstm) | {app['rest_predict']['p50_ms']:.2f} / {app['rest_predict']['p99_ms']:.2f} "
            f"| {app['client_predict']['p50_ms']:.1f} / {app['client_predict']['p99_ms']:.1f} |",
            "",
        ]
    if report.get("cold_start"):
        cold = report["cold_start"]
        lines += [
            "**Cold start**, process start to first answered request (median of runs)",
            "",
            "| app | seconds |",
            "|---|---|",
            f"| this app (`python app.py`, all shipped models) | {cold['app_seconds']:.2f} |",
            f"| do-nothing Gradio app | {cold['noop_app_seconds']:.2f} |",
            f"| import and load every model (no server) | {cold['import_and_load_models_seconds']:.2f} |",
            "",
            f"Memory: the app's resident set after its first answer: "
            f"{cold['app_rss_mib_after_first_answer']:.0f} MiB; the benchmark process peaked at "
            f"{report['benchmark_peak_rss_mib']:.0f} MiB.",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sentiment bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run for CI")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--sections", default="training,inference,app,cold_start")
    parser.add_argument("--models", default=None, help="comma-separated (default: every shipped model)")
    parser.add_argument(
        "--device",
        default="cpu",
        help="cpu (default) or cuda: training and eager batch inference on a GPU, "
        "against the GPU's fp32 peak (TF32 off); the app and cold-start "
        "sections measure the CPU server and are left out (default out: "
        "benchmarks/results-cuda)",
    )
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no GPU here")
    names = args.models.split(",") if args.models else available_models(models_dir())
    sections = args.sections.split(",")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # the fp32 roofline, and fp32 training
        torch.backends.cudnn.allow_tf32 = False
        sections = [section for section in sections if section in ("training", "inference")]
        if args.out == DEFAULT_OUT:
            args.out = DEFAULT_OUT.with_name("results-cuda")
    roofline = Roofline(8192 if device.type == "cuda" else 768 if args.quick else 1536, device)
    print(
        f"fp32 matmul peak: {roofline.measure():.0f} GFLOP/s on {args.device} ({torch.get_num_threads()} CPU threads)",
        flush=True,
    )
    report: dict[str, Any] = {
        "command": "python -m benchmarks.run " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads",
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "quick": args.quick,
        "training_epochs": 1 if args.quick else TRAINING_EPOCHS,
    }
    if "training" in sections:
        report["training"] = training_section(names, args.quick, roofline, device)
    if "inference" in sections:
        report["inference"] = (
            device_inference_section(names, args.quick, roofline, device)
            if device.type == "cuda"
            else inference_section(names, args.quick, roofline)
        )
    report["peak_gflops"] = roofline.highest  # the highest of every measurement in the run
    if "app" in sections:
        report["app"] = app_section(args.quick)
    if "cold_start" in sections:
        report["cold_start"] = cold_start_section(args.quick)
    report["benchmark_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out.with_suffix(".json"), json.dumps(report, indent=2) + "\n")
    atomic_write_text(
        args.out.with_suffix(".md"), device_markdown(report) if device.type == "cuda" else markdown(report)
    )
    print(f"wrote {args.out.with_suffix('.json')} and {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
