#!/usr/bin/env python3
"""Run every process of a Procfile, restart any that dies, stop them all on Ctrl-C (`make run`'s full mode).

    python scripts/supervise.py Procfile

Each line of output is prefixed with its process's name. A process that exits is started again after a pause
that doubles from 1 s to 30 s while it keeps dying early, and starts again from 1 s once it ran for a minute: a
worker killed by the OOM killer (or kill -9) comes back at once, one that cannot start does not spin. Ctrl-C
(SIGINT) or SIGTERM stops restarting, sends SIGTERM to every process group (so gunicorn and Celery shut down
cleanly), and SIGKILL to what is left after STOP_SECONDS.

Each process runs in its own process group: a terminal's Ctrl-C reaches this supervisor only, which stops the
processes in order instead of every one of them seeing SIGINT at once. If this supervisor itself is killed with
SIGKILL its processes keep running; stop them with Ctrl-C or SIGTERM, never kill -9.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

FIRST_PAUSE, LONGEST_PAUSE = 1.0, 30.0
STABLE_SECONDS = 60.0  # a process that ran this long is healthy: its next restart waits FIRST_PAUSE again
STOP_SECONDS = 25.0  # longer than the gateway's graceful_timeout (20 s): a clean stop is never cut short

_output = threading.Lock()


def say(name: str, width: int, line: str) -> None:
    with _output:
        sys.stdout.write(f"{time.strftime('%H:%M:%S')} {name:<{width}} | {line}\n")
        sys.stdout.flush()


def read_procfile(path: Path) -> dict[str, str]:
    processes = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, command = line.partition(":")
        if not sep or not name.strip() or not command.strip():
            sys.exit(f"{path}:{number}: expected `name: command`, got {line!r}")
        processes[name.strip()] = command.strip()
    if not processes:
        sys.exit(f"{path} names no process")
    return processes


@dataclass
class Process:
    name: str
    command: str
    width: int
    popen: subprocess.Popen | None = None
    started: float = 0.0
    pause: float = FIRST_PAUSE
    restart_at: float | None = None

    def start(self) -> None:
        self.popen = subprocess.Popen(
            ["bash", "-c", self.command],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.started = time.monotonic()
        self.restart_at = None
        say(self.name, self.width, f"started (pid {self.popen.pid})")
        threading.Thread(target=self._copy_output, args=(self.popen,), daemon=True).start()

    def _copy_output(self, popen: subprocess.Popen) -> None:
        for raw in popen.stdout:
            say(self.name, self.width, raw.decode(errors="replace").rstrip("\n"))

    def check(self, now: float) -> None:
        """Notice an exit and schedule the restart; restart when its time has come."""
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.start()
            return
        status = self.popen.poll()
        if status is None:
            return
        # Its pool children or workers may outlive a killed parent: they must not hold the port or the queue.
        self.signal(signal.SIGKILL)
        if now - self.started >= STABLE_SECONDS:
            self.pause = FIRST_PAUSE
        reason = f"killed by signal {-status}" if status < 0 else f"exited with status {status}"
        say(self.name, self.width, f"{reason}; restarting in {self.pause:g} s")
        self.restart_at = now + self.pause
        self.pause = min(self.pause * 2, LONGEST_PAUSE)

    def signal(self, signum: int) -> None:
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signum)

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


def main() -> int:
    if len(sys.argv) != 2:
        sys.exit("usage: supervise.py PROCFILE")
    commands = read_procfile(Path(sys.argv[1]))
    width = max(len(name) for name in commands)
    processes = [Process(name, command, width) for name, command in commands.items()]
    stopping = threading.Event()

    def stop(signum, _frame) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for process in processes:
        process.start()
    while not stopping.wait(0.2):
        now = time.monotonic()
        for process in processes:
            process.check(now)

    say("supervise", width, "stopping every process (SIGTERM)")
    for process in processes:
        process.signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    while any(p.running() for p in processes) and time.monotonic() < deadline:
        time.sleep(0.1)
    for process in processes:
        if process.running():
            say(process.name, width, f"still running after {STOP_SECONDS:g} s: SIGKILL")
        # The whole group either way: a pool child may outlive its parent.
        process.signal(signal.SIGKILL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
