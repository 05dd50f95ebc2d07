"""Scale: does training data preparation cost the same per text at 10k and at 1M texts, and stay
in bounded memory?

    python -m benchmarks.scale                  # 10k, 100k and 1M texts; writes benchmarks/results-scale.{json,md}
    python -m benchmarks.scale --sizes 1000     # a smoke run
    python -m benchmarks.run --scale            # the same, from the benchmark runner

Each size runs in a process of its own, so that its peak resident memory (VmHWM) is its own. The
texts are synthetic: rt-snippets training texts drawn at random, each with one corpus word
appended, so nothing is downloaded and every size has snippet-length texts. One tokenizer,
trained on the rt-snippets training split, serves every size. Per size it measures the pure
tokenisation (`encode_batch_fast` over the texts, results dropped), the data preparation of
`sentiment train` (`encode_split`: tokenisation into flat arrays, empty texts dropped), one
epoch's batch plan, and the default BiLSTM's training throughput over a bounded number of batches.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sentiment_app.paths import PACKAGE_ROOT
from sentiment_app.storage.atomic import atomic_write_text

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
DEFAULT_OUT = PACKAGE_ROOT / "benchmarks" / "results-scale"
TRAINED_BATCHES = 30  # batches of 64 per timed stretch of training
TRAINING_REPEATS = 5  # timed stretches per size; the fastest counts
REFERENCE_TEXTS = 10_000  # the first texts of each size, timed in the same process as the whole


def peak_rss_mib() -> float:
    """This process's peak resident set (VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_texts(count: int, seed: int = 0) -> tuple[list[str], list[int]]:
    """`count` snippet-length texts with labels: rt-snippets training texts drawn at random,
    each with one word of the corpus appended."""
    import numpy as np

    from training.data.sources import load_rt_snippets

    train = load_rt_snippets(seed=13).train
    snippets, snippet_labels = train["text"], train["label"]
    words = sorted({word for text in snippets[:2000] for word in text.split()})
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(snippets), size=count).tolist()
    appended = rng.integers(0, len(words), size=count).tolist()
    texts = [f"{snippets[pick]} {words[word]}" for pick, word in zip(picks, appended)]
    return texts, [snippet_labels[pick] for pick in picks]


def clocked(function: Callable[[], Any]) -> tuple[Any, float, float]:
    """function()'s result, its wall seconds and its CPU seconds (every thread of this process):
    on a shared machine the CPU time barely moves when another process takes the cores."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def fastest(times: list[tuple[float, float]]) -> tuple[float, float]:
    """The least wall time and the least CPU time of several (wall, cpu) runs."""
    return min(wall for wall, _ in times), min(cpu for _, cpu in times)


def repeats_for(count: int) -> int:
    return 3 if count <= 100_000 else 1


def measure_size(count: int, tokenizer_path: Path, trained_batches: int = TRAINED_BATCHES) -> dict[str, Any]:
    """Every figure of one size (run in a child process)."""
    import dataclasses

    import numpy as np
    import torch
    from datasets import Dataset

    from sentiment_app.config import preset
    from sentiment_app.models.classifiers import build_model
    from sentiment_app.tokenization import TextEncoder, load_tokenizer
    from training.batching import epoch_batches
    from training.trainer import ENCODE_CHUNK, EncodedSplit, Trainer, TrainingConfig, encode_split

    started = time.perf_counter()
    texts, labels = synthetic_texts(count)
    dataset = Dataset.from_dict({"text": texts, "label": labels})
    generation_seconds = time.perf_counter() - started
    encoder = TextEncoder(load_tokenizer(tokenizer_path))

    def tokenise(texts: list[str]) -> None:
        for start in range(0, len(texts), ENCODE_CHUNK):
            encoder.tokenizer.encode_batch_fast(texts[start : start + ENCODE_CHUNK])

    # the in-process reference: the first texts, prepared before and after the whole set
    reference = Dataset.from_dict({"text": texts[:REFERENCE_TEXTS], "label": labels[:REFERENCE_TEXTS]})
    reference_before = fastest([clocked(functools.partial(encode_split, encoder, reference))[1:] for _ in range(3)])
    # tokenisation and preparation in turn, the fastest of each kept (wall and CPU apart)
    tokenise_times, prepare_times = [], []
    for _ in range(repeats_for(count)):
        tokenise_times.append(clocked(functools.partial(tokenise, texts))[1:])
        split, *seconds = clocked(functools.partial(encode_split, encoder, dataset))
        prepare_times.append(seconds)
    (tokenise_wall, tokenise_cpu), (prepare_wall, prepare_cpu) = fastest(tokenise_times), fastest(prepare_times)
    reference_after = fastest([clocked(functools.partial(encode_split, encoder, reference))[1:] for _ in range(3)])
    reference_wall, reference_cpu = (
        (before + after) / 2 / len(reference) for before, after in zip(reference_before, reference_after)
    )
    del texts, dataset

    started = time.perf_counter()
    epoch_batches(split.ids.lengths, 64, seed=13, epoch=1)
    batch_plan_seconds = time.perf_counter() - started

    config = dataclasses.replace(preset("bilstm"), vocab_size=encoder.vocab_size, padding_id=encoder.padding_id)

    def stretch_trainer(train: EncodedSplit) -> Trainer:
        """A trainer whose epochs are the first `trained_batches` batches of the real epoch."""
        torch.manual_seed(0)
        trainer = Trainer(
            build_model(config),
            TrainingConfig(batch_size=64),
            train,
            train,
            encoder.padding_id,
            config.labels,
            show_progress=False,
        )
        full_share = trainer.epoch_share
        trainer.epoch_share = lambda epoch: full_share(epoch)[: 3 if epoch == 0 else trained_batches]
        trainer.train_epoch(0)  # warm-up (allocator, threads)
        return trainer

    first = np.arange(min(REFERENCE_TEXTS, len(split)))
    trainers = {
        "size": stretch_trainer(split),
        "reference": stretch_trainer(EncodedSplit(split.ids.take(first), split.labels[: len(first)])),
    }
    speeds: dict[str, list[tuple[float, float]]] = {name: [] for name in trainers}
    for epoch in range(1, TRAINING_REPEATS + 1):  # the two in turn, so that both see the same machine
        for name, trainer in trainers.items():
            record, _, cpu_seconds = clocked(functools.partial(trainer.train_epoch, epoch))
            seen = record["samples_per_second"] * record["train_seconds"]
            speeds[name].append((record["samples_per_second"], seen / cpu_seconds))
    (size_wall, size_cpu), (reference_speed, _) = (
        tuple(max(column) for column in zip(*speeds[name])) for name in ("size", "reference")
    )
    tokens = int(split.ids.lengths.sum())
    return {
        "texts": count,
        "kept_texts": len(split),
        "tokens": tokens,
        "repeats": repeats_for(count),
        "generation_seconds": generation_seconds,
        "tokenise_seconds": tokenise_wall,
        "tokenise_cpu_seconds": tokenise_cpu,
        "prepare_seconds": prepare_wall,
        "prepare_cpu_seconds": prepare_cpu,
        "tokenise_microseconds_per_text": 1e6 * tokenise_wall / count,
        "tokenise_cpu_microseconds_per_text": 1e6 * tokenise_cpu / count,
        "prepare_microseconds_per_text": 1e6 * prepare_wall / count,
        "prepare_cpu_microseconds_per_text": 1e6 * prepare_cpu / count,
        "prepare_over_tokenise": prepare_wall / tokenise_wall,
        "prepare_over_tokenise_cpu": prepare_cpu / tokenise_cpu,
        "batch_plan_seconds": batch_plan_seconds,
        "training_ids_bytes": split.ids.nbytes,
        "training_ids_bytes_per_token": split.ids.nbytes / max(tokens, 1),
        "epoch_samples_per_second": size_wall,
        "epoch_samples_per_cpu_second": size_cpu,
        "reference_texts": len(reference),
        "prepare_per_text_over_reference": prepare_wall / count / reference_wall,
        "prepare_cpu_per_text_over_reference": prepare_cpu / count / reference_cpu,
        "epoch_throughput_over_reference": size_wall / reference_speed,
        "trained_batches": trained_batches,
        "peak_rss_mib": peak_rss_mib(),
    }


def run_sizes(sizes: list[int], command: str, trained_batches: int = TRAINED_BATCHES) -> dict[str, Any]:
    """One child process per size, sharing one tokenizer trained on the rt-snippets split."""
    import torch

    from sentiment_app.config import TokenizerConfig
    from sentiment_app.tokenization import train_tokenizer
    from training.data.sources import load_rt_snippets

    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        tokenizer_path = Path(scratch) / "tokenizer.json"
        train_tokenizer(load_rt_snippets(seed=13).train["text"], TokenizerConfig()).save(str(tokenizer_path))
        for count in sizes:
            child = [
                sys.executable,
                "-m",
                "benchmarks.scale",
                "--child",
                str(count),
                "--tokenizer",
                str(tokenizer_path),
                "--trained-batches",
                str(trained_batches),
            ]
            env = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")])),
            }
            result = subprocess.run(child, capture_output=True, text=True, env=env, cwd=PACKAGE_ROOT, check=False)
            if result.returncode != 0:
                raise RuntimeError(f"scale benchmark at {count:,} texts failed:\n{result.stderr[-3000:]}")
            rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
            print(f"{count:>9,} texts: {rows[-1]['prepare_microseconds_per_text']:.1f} us/text to prepare", flush=True)
    first, last = rows[0], rows[-1]
    return {
        "command": command,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads",
        "sizes": rows,
        "prepare_per_text_ratio": last["prepare_microseconds_per_text"] / first["prepare_microseconds_per_text"],
        "prepare_cpu_per_text_ratio": last["prepare_cpu_microseconds_per_text"]
        / first["prepare_cpu_microseconds_per_text"],
        "epoch_throughput_ratio": last["epoch_samples_per_second"] / first["epoch_samples_per_second"],
        "epoch_cpu_throughput_ratio": last["epoch_samples_per_cpu_second"] / first["epoch_samples_per_cpu_second"],
    }


def markdown(report: dict[str, Any]) -> str:
    rows = report["sizes"]
    lines = [
        f"Measured on {report['machine']} with `{report['command'].strip()}`; synthetic snippet-length "
        "texts, the default BiLSTM, batches of 64, each size in a process of its own. Wall time, and in "
        "brackets CPU time (every thread of the process), which another process on the same cores moves "
        "far less; the fastest of 3 runs up to 100,000 texts, one run above. The last columns compare each "
        "size with its own first 10,000 texts in the same process (prepared before and after it, trained "
        "in turn with it), which a busy machine moves alike.",
        "",
        "| texts | tokens | tokenise: s, µs/text (CPU) | prepare: s, µs/text (CPU) | prepare / tokenise (CPU) "
        "| batch plan, s | training ids: MiB, bytes/token | training: texts/s (per CPU s) | peak RSS, MiB "
        "| prepare per text / first 10k (CPU) | training texts/s / first 10k |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['texts']:,} | {row['tokens']:,} | {row['tokenise_seconds']:.2f}, "
            f"{row['tokenise_microseconds_per_text']:.1f} ({row['tokenise_cpu_microseconds_per_text']:.1f}) | "
            f"{row['prepare_seconds']:.2f}, {row['prepare_microseconds_per_text']:.1f} "
            f"({row['prepare_cpu_microseconds_per_text']:.1f}) | {row['prepare_over_tokenise']:.2f} "
            f"({row['prepare_over_tokenise_cpu']:.2f}) | {row['batch_plan_seconds']:.3f} | "
            f"{row['training_ids_bytes'] / 2**20:.1f}, {row['training_ids_bytes_per_token']:.2f} | "
            f"{row['epoch_samples_per_second']:,.0f} ({row['epoch_samples_per_cpu_second']:,.0f}) | "
            f"{row['peak_rss_mib']:,.0f} | {row['prepare_per_text_over_reference']:.2f} "
            f"({row['prepare_cpu_per_text_over_reference']:.2f}) | {row['epoch_throughput_over_reference']:.2f} |"
        )
    lines += [
        "",
        f"{rows[-1]['texts']:,} against {rows[0]['texts']:,} texts: per-text preparation cost "
        f"**{report['prepare_per_text_ratio']:.2f}x** (CPU time: **{report['prepare_cpu_per_text_ratio']:.2f}x**); "
        f"training throughput **{report['epoch_throughput_ratio']:.2f}x** (per CPU second: "
        f"**{report['epoch_cpu_throughput_ratio']:.2f}x**; the fastest of {TRAINING_REPEATS} stretches of "
        f"{rows[0]['trained_batches']} batches each, after a warm-up).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None, prog: str = "python -m benchmarks.scale") -> int:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, DEFAULT_SIZES)),
        help=f"comma-separated numbers of texts (default: {','.join(map(str, DEFAULT_SIZES))})",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="writes OUT.json and OUT.md")
    parser.add_argument(
        "--trained-batches",
        type=int,
        default=TRAINED_BATCHES,
        help=f"batches of 64 in each timed stretch of training (default: {TRAINED_BATCHES})",
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)  # one size, figures as JSON on stdout
    parser.add_argument("--tokenizer", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure_size(args.child, args.tokenizer, args.trained_batches)))
        return 0
    given = argv if argv is not None else sys.argv[1:]
    report = run_sizes(
        [int(size) for size in args.sizes.split(",")], f"{prog} " + " ".join(given), args.trained_batches
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out.with_suffix(".json"), json.dumps(report, indent=2) + "\n")
    atomic_write_text(args.out.with_suffix(".md"), markdown(report))
    print(f"wrote {args.out.with_suffix('.json')} and {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
