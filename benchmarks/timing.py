"""Timing helpers shared by the benchmarks: alternating timers, percentiles, the fp32 roofline."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import torch

GATES = {"rnn": 1, "gru": 3, "lstm": 4}  # gated blocks per recurrent cell


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
