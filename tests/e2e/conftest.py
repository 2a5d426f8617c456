"""Fixtures of the browser tests: one Debian chromium per test module (Playwright)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_kit import CHROMIUM, FLAGS
from playwright.sync_api import Browser, sync_playwright


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless, never a downloaded browser (``browser_kit.FLAGS``)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield browser
        browser.close()
