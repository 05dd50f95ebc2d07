"""The markdown report of a benchmark run (results.md), from its JSON."""

from __future__ import annotations

from typing import Any


def batch_scoring_pair(row: dict[str, Any]) -> str:
    return f"{row['batch_scoring_fast_texts_per_second']:,.0f} / {row['batch_scoring_eager_texts_per_second']:,.0f}"


def roofline_pair(row: dict[str, Any]) -> str:
    fast, eager = row["long_batch_fast_roofline_fraction"], row["long_batch_eager_roofline_fraction"]
    mixed = row.get("long_batch_bfloat16_roofline_fraction")
    predictor = row.get("long_batch_predictor_roofline_fraction")
    if not fast:
        return "—"
    return (
        f"{fast:.0%} / {eager:.0%}" + (f" / {mixed:.0%}" if mixed else "") + (f"; {predictor:.0%}" if predictor else "")
    )


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
            + ")"
            + (
                "; the same texts through `predict()`"
                if any("long_batch_predictor_roofline_fraction" in row for row in report["inference"])
                else ""
            )
            + " |",
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
