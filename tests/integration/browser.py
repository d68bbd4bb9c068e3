"""A real headless Chromium for the dashboard tests: Debian's `chromium`, driven by
Selenium through Debian's `chromedriver` (nothing is downloaded: `scripts/setup --test`
installs both). Selenium blocks, so every call runs in a thread: the simulated PBX of
the same test runs on the event loop and must not stall."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def skip_without_chromium() -> None:
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip(
            "no chromium/chromedriver on PATH: apt-get install chromium chromium-driver "
            "(scripts/setup --test does it as root)"
        )


class Page:
    """One browser tab, with async helpers over the blocking Selenium calls."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    async def open(self, url: str) -> None:
        await self.call(self.driver.get, url)

    async def js(self, script: str, *args: Any) -> Any:
        return await self.call(self.driver.execute_script, script, *args)

    async def text(self, selector: str) -> str | None:
        """The text of the first element matching the CSS selector, None if there is none."""
        found = await self.js(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
            selector,
        )
        return None if found is None else str(found)

    async def click(self, selector: str) -> None:
        """A real click (the WebDriver's own), as a user's."""
        from selenium.webdriver.common.by import By

        element = await self.call(self.driver.find_element, By.CSS_SELECTOR, selector)
        await self.call(element.click)

    async def type_into(self, selector: str, text: str) -> None:
        from selenium.webdriver.common.by import By

        element = await self.call(self.driver.find_element, By.CSS_SELECTOR, selector)
        await self.call(element.send_keys, text)

    async def wait_for(self, what: str, condition: Callable[[], Any], timeout: float = 30) -> Any:
        """Poll an async condition until it returns something truthy."""
        deadline = time.monotonic() + timeout
        while True:
            result = await condition()
            if result:
                return result
            if time.monotonic() > deadline:
                shot = await self.js("return document.body.innerText")
                raise AssertionError(f"the page never showed {what}; it shows:\n{shot}")
            await asyncio.sleep(0.2)

    async def console_errors(self) -> list[str]:
        logs = await self.call(self.driver.get_log, "browser")
        return [e["message"] for e in logs if e["level"] == "SEVERE"]


async def chromium_page() -> AsyncIterator[Page]:
    """A fresh headless Chromium (its own profile, so its own sessionStorage)."""
    skip_without_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",  # tests run as root in CI
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1000",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=str(CHROMEDRIVER))
    driver = await asyncio.to_thread(webdriver.Chrome, service=service, options=options)
    try:
        yield Page(driver)
    finally:
        await asyncio.to_thread(driver.quit)
