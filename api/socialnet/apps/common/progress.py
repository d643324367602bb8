"""A dependency-free progress bar for management commands and benchmarks (stderr, one line, redrawn)."""

import sys
import time


class Progress:
    def __init__(self, label: str, total: int, *, stream=None, width: int = 30):
        self.label, self.total, self.width = label, max(total, 1), width
        self.stream = stream or sys.stderr
        self.done = 0
        self.started = time.monotonic()
        self._last_draw = 0.0

    def advance(self, step: int = 1) -> None:
        self.done = min(self.total, self.done + step)
        now = time.monotonic()
        if now - self._last_draw > 0.1 or self.done == self.total:
            self._last_draw = now
            self._draw()

    def _draw(self) -> None:
        filled = int(self.width * self.done / self.total)
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.monotonic() - self.started
        end = "\n" if self.done == self.total else ""
        self.stream.write(f"\r{self.label:<22} [{bar}] {self.done}/{self.total} {elapsed:5.1f}s{end}")
        self.stream.flush()

    def __enter__(self):
        self._draw()
        return self

    def __exit__(self, *exc):
        if self.done < self.total and exc[0] is None:
            self.done = self.total
            self._draw()
