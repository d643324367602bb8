"""Synchronous extension points, for the rare write that an app above must complete *inside* the lower app's
transaction (a signal received after commit would be too late: e.g. a post's tags must exist in the 201 that
creates it). The lower app owns a `Hooks` and runs it; the app above registers a function in its
`AppConfig.ready()`, so the lower app never imports it (the layers in docs/architecture.md). Same shape as
apps.images.policy, for writes. Keep hooks few: everything that can wait goes through signals and tasks."""

from __future__ import annotations

from collections.abc import Callable


class Hooks:
    def __init__(self, name: str):
        self.name = name
        self._functions: list[Callable[..., None]] = []

    def register(self, function: Callable[..., None]) -> None:
        # ready() may run twice (tests, autoreload): registering again must not run the hook twice.
        if function not in self._functions:
            self._functions.append(function)

    def run(self, **kwargs) -> None:
        for function in self._functions:
            function(**kwargs)
