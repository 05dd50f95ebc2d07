"""The benchmark's quick mode (the CI smoke run) and its timing helper. Speed itself is never
asserted here: timings on shared machines are noisy, so the figures live in the README."""

from __future__ import annotations

import json

import pytest

from benchmarks.run import main, timed_alternately


def test_alternate_timing_calls_the_functions_in_turn():
    calls = []
    samples = timed_alternately({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                                repeats=4, warmup=1)
    assert calls == ["a", "b"] * 5  # one warm-up round, then four timed rounds
    assert {name: len(times) for name, times in samples.items()} == {"a": 4, "b": 4}
    assert all(seconds >= 0 for times in samples.values() for seconds in times)


@pytest.mark.slow
def test_quick_run_measures_training_inference_and_the_app(tmp_path, capsys):
    out = tmp_path / "bench"
    assert main(["--quick", "--sections", "training,inference,app", "--models", "bilstm",
                 "--out", str(out)]) == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["quick"] is True and report["peak_gflops"] > 0
    labels = [row["model"] for row in report["training"]]
    assert labels == ["bilstm", "bilstm (embedding 128)"]
    for row in report["training"]:
        assert row["bucketed_samples_per_second"] > 0 and row["naive_samples_per_second"] > 0
        assert 0 < row["bucketed_roofline_fraction"] < 1.5
    (inference,) = report["inference"]
    assert inference["model"] == "bilstm"
    app = report["app"]
    for key in ("rest_noop", "rest_predict", "client_noop", "client_predict"):
        assert 0 < app[key]["p50_ms"] <= app[key]["p99_ms"]
    markdown = out.with_suffix(".md").read_text()
    assert "| bilstm |" in markdown and "**App round trip**" in markdown
