"""Fixtures of the training tests."""

from __future__ import annotations

import pytest

from training.train import main
from training.trainer import Trainer


@pytest.fixture
def interrupt_training(monkeypatch):
    """A function that runs `sentiment train` with `args` and stops it (KeyboardInterrupt) as the
    `call`-th epoch of the run starts (counting every candidate's epochs): by default the second,
    which leaves the checkpoint of the first."""

    def interrupt(args: list[str], call: int = 2) -> None:
        original = Trainer.train_epoch
        calls = []

        def stop(self, epoch):
            calls.append(epoch)
            if len(calls) == call:
                raise KeyboardInterrupt
            return original(self, epoch)

        monkeypatch.setattr("training.trainer.Trainer.train_epoch", stop)
        with pytest.raises(KeyboardInterrupt):
            main(args)
        monkeypatch.undo()

    return interrupt
