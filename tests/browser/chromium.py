"""Headless Debian Chromium driven by Playwright, for the inspector's tests and screenshot."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.helpers import in_ci

# Flags for a sandboxed root session with no network but loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _playwright_missing() -> bool:
    return importlib.util.find_spec("playwright") is None


# The marks of a browser test module: the tier, and outside CI a skip when
# Playwright or Chromium is missing (in CI a missing browser is a failure).
BROWSER_TIER = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not in_ci() and (_playwright_missing() or chromium_path() is None),
        reason="browser tier: needs Playwright and Debian's chromium (CI installs both)",
    ),
]


@contextmanager
def browser_page(width: int = 1366, height: int = 900) -> Iterator[Any]:
    """A page of a fresh headless Chromium; closed when the block ends."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise RuntimeError("Chromium is not installed (Debian package 'chromium')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            browser.close()
