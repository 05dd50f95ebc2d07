"""Speed benchmarks, each against a baseline measured in the same run.

    python -m benchmarks.run                 # full: the figures in benchmarks/README.md (several minutes)
    python -m benchmarks.run --quick         # smoke run for CI (seconds)
    python -m benchmarks.run --device cuda   # training and batch inference on a GPU
    python -m benchmarks.run --scale         # only the scale section (benchmarks/scale.py)

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
    scale       (--scale, on its own) data preparation, tokenisation, peak memory and training
                throughput at 10k, 100k and 1M texts; writes benchmarks/results-scale.{json,md}

Writes OUT.json and OUT.md (default benchmarks/results).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
from pathlib import Path
from typing import Any

import torch

from benchmarks.app_speed import app_section, cold_start_section
from benchmarks.inference_speed import device_inference_section, inference_section
from benchmarks.report import device_markdown, markdown
from benchmarks.scale import main as scale_main
from benchmarks.timing import Roofline
from benchmarks.training_speed import TRAINING_EPOCHS, training_section
from sentiment_app.inference.predictor import available_models
from sentiment_app.paths import PACKAGE_ROOT, models_dir
from sentiment_app.storage.atomic import atomic_write_text

DEFAULT_OUT = PACKAGE_ROOT / "benchmarks" / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sentiment bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run for CI")
    parser.add_argument(
        "--scale",
        action="store_true",
        help="run only the scale section; the flags after it go to benchmarks/scale.py (see its --help)",
    )
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
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--scale" in argv:
        at = argv.index("--scale")
        return scale_main(argv[:at] + argv[at + 1 :], prog="python -m benchmarks.run --scale")
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
        "command": "python -m benchmarks.run " + " ".join(argv),
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
