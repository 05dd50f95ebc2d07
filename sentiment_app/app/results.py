"""Where scored files wait to be downloaded: a bounded number of them, for a bounded time.

Gradio copies a returned file into its own cache (swept by `delete_cache`), so the original is
only needed until the next scoring; the store keeps a few for callers that read the path itself.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sentiment_app.limits import KEPT_RESULTS, RESULT_MAX_AGE_S


class ResultStore:
    """Fresh directories under one private root; the oldest go once more than `keep` exist or
    once older than `max_age_s`, and the whole root goes when the process exits."""

    def __init__(
        self,
        keep: int = KEPT_RESULTS,
        max_age_s: float = RESULT_MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
        root: Path | None = None,
    ) -> None:
        self.keep, self.max_age_s, self.clock = keep, max_age_s, clock
        self._root = Path(root) if root is not None else None
        self._made: list[tuple[float, Path]] = []  # (creation time, directory), oldest first
        self._lock = threading.Lock()

    @property
    def root(self) -> Path:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="sentiment-results-"))
            atexit.register(shutil.rmtree, self._root, ignore_errors=True)
            threading.Thread(target=self._sweep_forever, name="result-sweeper", daemon=True).start()
        return self._root

    def _sweep_forever(self) -> None:
        """Age out results while no new scoring comes to do it."""
        while True:
            time.sleep(max(self.max_age_s / 4, 1))
            self.sweep()

    def new_directory(self) -> Path:
        """A new empty directory for one result, after deleting the ones past the bounds."""
        with self._lock:
            self._sweep(room_for=1)
            directory = Path(tempfile.mkdtemp(prefix="batch-", dir=self.root))
            self._made.append((self.clock(), directory))
            return directory

    def sweep(self) -> None:
        """Delete every directory past its age (and past the count)."""
        with self._lock:
            self._sweep(room_for=0)

    def _sweep(self, room_for: int) -> None:
        now = self.clock()
        while self._made and (len(self._made) + room_for > self.keep or now - self._made[0][0] > self.max_age_s):
            _, directory = self._made.pop(0)
            shutil.rmtree(directory, ignore_errors=True)

    def __len__(self) -> int:
        with self._lock:
            return len(self._made)
