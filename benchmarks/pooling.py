"""Max pooling over time in a training step: ours (`masked_pool`) against torch's own way of
writing it (`masked_fill` with the padding mask, then `max(dim)`, autograd for the backward), on
one direction of a BiLSTM batch. The two are timed in turn; each figure is the fastest of many
rounds. Both give the same maxima and the same gradient, which this script checks first.

    python -m benchmarks.pooling
    python -m benchmarks.pooling --batch 64 --time 26 --hidden 128 --rounds 40
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import torch
from torch import nn

from benchmarks.timing import timed_alternately
from sentiment_app.models.classifiers import masked_pool, valid_mask


def torch_reference(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return states.masked_fill(~mask[:, :, None], float("-inf")).max(dim=1).values


def fastest_milliseconds(functions: dict[str, Callable[[], object]], rounds: int, calls: int = 20) -> dict[str, float]:
    """Milliseconds per call of each function: in turn, `calls` calls a round, fastest round kept."""

    def repeated(function: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            for _ in range(calls):
                function()

        return run

    rounds_seconds = timed_alternately({name: repeated(f) for name, f in functions.items()}, rounds, warmup=0)
    return {name: min(seconds) / calls * 1e3 for name, seconds in rounds_seconds.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.pooling", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--time", type=int, default=26, help="padded length of the batch")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    layer = nn.LSTM(args.hidden, args.hidden, batch_first=True)
    with torch.no_grad():  # an LSTM's output: (batch, time, hidden) over time-major memory
        states = layer(torch.randn(args.batch, args.time, args.hidden))[0]
    lengths = torch.randint(max(1, args.time // 3), args.time + 1, (args.batch,))
    lengths[0] = args.time
    mask = valid_mask(lengths, args.time)  # (batch, time)
    upstream = torch.randn(args.batch, args.hidden)

    def forward_and_backward(pool: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Callable[[], torch.Tensor]:
        def run() -> torch.Tensor:
            leaf = states.detach().requires_grad_(True)
            pool(leaf, mask).backward(upstream)
            return leaf.grad

        return run

    ours = forward_and_backward(lambda leaf, m: masked_pool(leaf, m, "max"))
    reference = forward_and_backward(torch_reference)
    if not torch.equal(ours(), reference()):
        print("the gradients differ", file=sys.stderr)
        return 1
    times = fastest_milliseconds({"ours": ours, "torch": reference}, args.rounds)
    print(
        f"max pooling, forward and backward, batch {args.batch} x time {args.time} x {args.hidden}: "
        f"ours {times['ours']:.3f} ms, masked_fill + max(dim) {times['torch']:.3f} ms "
        f"({times['torch'] / times['ours']:.1f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
