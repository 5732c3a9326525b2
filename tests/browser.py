"""Shared helper for browser tests: Debian's headless Chromium driven by Playwright.

No browser is downloaded: Playwright is pointed at ``/usr/bin/chromium``. Flags keep
Chromium off the network (this machine reaches only package registries)."""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("Debian's chromium is required for browser tests (bash install.sh)")
    return path


@contextmanager
def browser_page(width: int = 1280, height: int = 900):
    """Yield ``(page, console_errors)``; ``console_errors`` collects console errors and
    uncaught page exceptions."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            profile,
            executable_path=chromium_path(),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height},
        )
        try:
            page = ctx.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            yield page, errors
        finally:
            ctx.close()
