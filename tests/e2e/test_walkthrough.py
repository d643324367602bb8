"""End-to-end: the README walkthrough against real processes, in the full and in the embedded mode."""

import pytest

from . import walkthrough

pytestmark = pytest.mark.e2e


def test_walkthrough_full_mode(full_stack):
    try:
        walkthrough.play(full_stack.gateway_url, grant_premium=lambda u: full_stack.manage("grant_premium", u))
    except BaseException:
        print(full_stack.logs())
        raise


def test_walkthrough_embedded_mode(embedded_stack):
    try:
        walkthrough.play(embedded_stack.gateway_url, grant_premium=lambda u: embedded_stack.manage("grant_premium", u))
    except BaseException:
        print(embedded_stack.logs())
        raise
