"""Headless Chromium (Debian's package, never a downloaded browser) driven by Playwright."""

import contextlib
import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    # Playwright's driver runs an event loop; Django must allow its own sync DB calls in that thread.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, request, tmp_path):
    """A fresh browser context per test. `page.snap(name)` records a step; kept in test-artifacts/ on failure."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    steps = []

    def snap(name: str) -> None:
        path = tmp_path / f"{len(steps) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        steps.append(path)

    page.snap = snap
    yield page
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed:
        with contextlib.suppress(Exception):  # the page may be gone; the earlier steps are still worth keeping
            snap("at-failure")
        target = ARTIFACTS / re.sub(r"[^\w.-]", "_", request.node.name)
        target.mkdir(parents=True, exist_ok=True)
        for path in steps:
            shutil.copy(path, target / path.name)
    context.close()
