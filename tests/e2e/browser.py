"""Headless Chromium for the page tests (Debian's /usr/bin/chromium driven by Playwright),
screenshots, and OCR of the screenshots with the tesseract CLI."""

import asyncio
import shutil
import subprocess
import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from PIL import Image, ImageOps
from playwright.async_api import Browser, ConsoleMessage, Page, ViewportSize, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp/issue5/shots")  # the last run's screenshots, for people to look at
WALL: ViewportSize = {"width": 1920, "height": 1080}  # the dashboard's wall screen
DESK: ViewportSize = {"width": 1440, "height": 900}  # an agent's monitor


def _check_tools() -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
    if shutil.which("tesseract") is None:
        pytest.fail("the tesseract CLI is missing: install Debian's tesseract-ocr package")


def _keep(shot: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, SHOTS / shot.name)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Headless Chromium; the test fails (never skips) when it or tesseract is missing."""
    _check_tools()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser
        finally:
            await browser.close()


@asynccontextmanager
async def new_page(
    browser: Browser, errors: list[str], viewport: ViewportSize = DESK
) -> AsyncIterator[Page]:
    """A page in a fresh browser context (its own sessionStorage); script errors and console
    errors are appended to `errors` (not failed requests: the pages show those)."""
    context = await browser.new_context(viewport=viewport, locale="en-GB")
    page = await context.new_page()

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            errors.append(f"console: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    try:
        yield page
    finally:
        await context.close()


async def screenshot(page: Page, path: Path, selector: str | None = None) -> Path:
    """A screenshot of the page (or of one element), also kept in SHOTS."""
    if selector is None:
        await page.screenshot(path=str(path), full_page=True)
    else:
        await page.locator(selector).screenshot(path=str(path))
    await asyncio.to_thread(_keep, path)
    return path


def _variants(image: Path, dark: bool | None) -> list[Path]:
    """The screenshot in grey, twice the size, as it is (dark text on light) and/or inverted
    (light text on dark: the dashboard, the agent desk's header)."""
    with Image.open(image) as original:
        grey = ImageOps.grayscale(original)
    grey = grey.resize((grey.width * 2, grey.height * 2), Image.Resampling.LANCZOS)
    variants = {"grey": grey, "inverted": ImageOps.invert(grey)}
    if dark is not None:
        variants = {k: v for k, v in variants.items() if (k == "inverted") == dark}
    out = []
    for name, variant in variants.items():
        path = image.with_name(f"{image.stem}.{name}.ocr.png")
        variant.save(path)
        out.append(path)
    return out


def _tesseract(image: Path) -> str:
    done = subprocess.run(
        ["tesseract", str(image), "-", "--psm", "11"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"tesseract failed on {image}: {done.stderr.strip()}")
    return done.stdout


async def ocr(image: Path, dark: bool | None = None) -> str:
    """The text tesseract reads in a screenshot: light text on a dark background (`dark`),
    dark on light (not `dark`), or both (None: read in parallel)."""
    variants = await asyncio.to_thread(_variants, image, dark)
    texts = await asyncio.gather(*(asyncio.to_thread(_tesseract, v) for v in variants))
    return "\n".join(texts)


def plain(text: str) -> str:
    """Lower case without accents, so "Kovács" matches an OCR "Kovacs"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def assert_reads(text: str, *expected: str, image: Path | None = None) -> None:
    """Every expected word is in the OCR text (case and accents ignored)."""
    missing = [word for word in expected if plain(word) not in plain(text)]
    where = f" in {image}" if image else ""
    assert not missing, f"OCR did not read {missing}{where}; it read:\n{text}"
