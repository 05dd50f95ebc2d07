"""The benchmark's quick mode (the CI smoke run) and its timing helper. Speed itself is never
asserted here: timings on shared machines are noisy, so the figures live in the README."""

from __future__ import annotations

import json

import pytest
import torch

from benchmarks.run import main
from benchmarks.timing import timed_alternately
from training.precision import bfloat16_native


def test_alternate_timing_calls_the_functions_in_turn():
    calls = []
    samples = timed_alternately({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=4, warmup=1)
    assert calls == ["a", "b"] * 5  # one warm-up round, then four timed rounds
    assert {name: len(times) for name, times in samples.items()} == {"a": 4, "b": 4}
    assert all(seconds >= 0 for times in samples.values() for seconds in times)


@pytest.mark.slow
def test_quick_run_measures_training_inference_and_the_app(tmp_path, capsys):
    out = tmp_path / "bench"
    assert main(["--quick", "--sections", "training,inference,app", "--models", "bilstm", "--out", str(out)]) == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["quick"] is True and report["peak_gflops"] > 0
    labels = [row["model"] for row in report["training"]]
    assert labels == ["bilstm", "bilstm (embedding 128)"]
    for row in report["training"]:
        assert row["bucketed_samples_per_second"] > 0 and row["naive_samples_per_second"] > 0
        assert 0 < row["bucketed_roofline_fraction"] < 1.5
        # the BiLSTM also trains in bfloat16 where the hardware multiplies in it, against both peaks
        if bfloat16_native(torch.device("cpu")):
            assert row["bfloat16_samples_per_second"] > 0 and row["bfloat16_peak_gflops"] > 0
            assert 0 < row["bfloat16_share_of_bfloat16_peak"] < row["bfloat16_roofline_fraction"]
        else:
            assert "bfloat16_samples_per_second" not in row
    (inference,) = report["inference"]
    assert inference["model"] == "bilstm"
    app = report["app"]
    for key in ("rest_noop", "rest_predict", "client_noop", "client_predict"):
        assert 0 < app[key]["p50_ms"] <= app[key]["p99_ms"]
    markdown = out.with_suffix(".md").read_text()
    assert "| bilstm |" in markdown and "**App round trip**" in markdown
    assert ("bfloat16 mixed precision" in markdown) == bfloat16_native(torch.device("cpu"))


def test_a_gpu_run_is_refused_with_a_clear_message_where_torch_sees_none(capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit):
        main(["--device", "cuda"])
    assert "torch sees no GPU here" in capsys.readouterr().err


def test_device_inference_and_its_report_on_the_cpu_path():
    """The GPU sections' code, run on the CPU (this machine has no GPU): one row per model with
    a latency and a long-batch share, and a report that names the device."""
    from benchmarks.inference_speed import device_inference_section
    from benchmarks.report import device_markdown
    from benchmarks.timing import Roofline

    cpu = torch.device("cpu")
    rows = device_inference_section(["lstm"], quick=True, roofline=Roofline(256, cpu), device=cpu)
    (row,) = rows
    assert 0 < row["eager_model_30"]["p50_ms"] <= row["eager_model_30"]["p99_ms"]
    assert row["long_batch_texts_per_second"] > 0 and row["long_batch_eager_roofline_fraction"] > 0
    report = {
        "device": "Test GPU",
        "machine": "x86_64",
        "command": "python -m benchmarks.run --device cuda",
        "peak_gflops": 51_000.0,
        "inference": rows,
    }
    text = device_markdown(report)
    assert "Test GPU" in text and "**51.0 TFLOP/s**" in text and "| lstm |" in text


def test_sample_texts_count_tokens_past_the_models_truncation():
    """The long sample text has the tokens asked for even where the tokenizer truncates sooner
    (the count must not rely on the overflow the truncating tokenizer reports)."""
    from types import SimpleNamespace

    from benchmarks.inference_speed import sample_text
    from sentiment_app.config import TokenizerConfig
    from sentiment_app.tokenization import TextEncoder, train_tokenizer

    tokenizer = train_tokenizer(
        ["the film is a quietly moving portrait of grief"] * 5,
        TokenizerConfig(vocab_size=60, min_frequency=1, max_length=10),
    )
    predictor = SimpleNamespace(encoder=TextEncoder(tokenizer))
    text = sample_text(predictor, 25)
    assert len(predictor.encoder.encode_ids([text])[0]) == 10  # the model reads 10 of them
    tokenizer.no_truncation()
    assert len(tokenizer.encode(text).ids) == 25


def test_the_pooling_benchmark_checks_that_both_ways_agree_before_timing(capsys, monkeypatch):
    from benchmarks import pooling

    assert pooling.main(["--batch", "4", "--time", "5", "--hidden", "3", "--rounds", "1"]) == 0
    assert "ours" in capsys.readouterr().out
    # a pooling that sends its gradient elsewhere is caught, and nothing is timed
    monkeypatch.setattr(pooling, "masked_pool", lambda states, mask, mode: states.sum(dim=1))
    assert pooling.main(["--batch", "4", "--time", "5", "--hidden", "3", "--rounds", "1"]) == 1
    assert "differ" in capsys.readouterr().err
