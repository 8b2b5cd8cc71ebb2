"""Seed 000's operator checklist through the console alone, in a real browser (issue 20, item 6).

Headless Chromium from the system (Debian's ``chromium``, installed by ``make install`` from
deploy/system-packages.txt) driven by Playwright's Python package with ``executable_path``: no browser
download. The operator signs in, creates a work order, fills the contract, drops the evidence the SBI
profile asks for, runs OCR, moves the work order to DATA_PENDING and READY_FOR_RENDER, downloads the
DOCX and releases it through the billing gate, with clicks and file drops only. A screenshot per step
is saved under ``<test state dir>/console-screens/{desktop,tablet}/`` (``.zenops-test/...`` by default).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.async_api import Browser, Page, async_playwright, expect

from devstack.launcher import StackInfo
from devstack.testing.data import pdf_bytes

pytestmark = pytest.mark.stack

#: generous: the shared 2-core machine renders DOCX/PDF with LibreOffice while the test waits
WAIT_MS = 180_000
DOCUMENTS = {
    "Sale Deed": "sale_deed.pdf",
    "RTC / Ownership Extract": "rtc.pdf",
    "Encumbrance Certificate": "ec.pdf",
    "Khata / Assessment": "khata.pdf",
    "Tax Receipt": "tax.pdf",
    "Plan / Approval Drawing": "plan.pdf",
}
PHOTOS = {
    "Exterior Photos": 2,
    "Interior Photos": 2,
    "Surroundings Photo": 1,
    "GPS Photo": 1,
    "Google Map Screenshot": 1,
    "Route Map Screenshot": 1,
}


def chromium_path() -> str:
    """The system Chromium (``ZENOPS_CHROMIUM`` overrides); the test fails, never skips, without it."""
    path = os.environ.get("ZENOPS_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "no system chromium: run `make install` (deploy/system-packages.txt lists it)"
    return path


def png(label: str) -> bytes:
    img = Image.new("RGB", (480, 320), (226, 232, 240))
    ImageDraw.Draw(img).text((24, 150), label, fill=(20, 30, 40))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    # Assertions wait for their condition (never a sleep); the deadline is generous for a loaded machine
    # (expect's own default is 5 s, page actions' 30 s).
    expect.set_options(timeout=WAIT_MS)
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=chromium_path(), headless=True)
        try:
            yield launched
        finally:
            await launched.close()


class Steps:
    """Screenshots numbered in the order the operator took the steps."""

    def __init__(self, page: Page, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.count = 0
        shutil.rmtree(folder, ignore_errors=True)  # this run's screenshots only
        folder.mkdir(parents=True)

    async def shot(self, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path


async def drop_files(page: Page, row: str, files: list[tuple[str, str, bytes]]) -> None:
    """Drop ``files`` on a checklist row's drop zone, as a browser's drag and drop delivers them."""
    zone = page.get_by_test_id(row).locator(".dropzone")
    payload = [{"name": n, "type": t, "data": list(d)} for n, t, d in files]
    transfer = await page.evaluate_handle(
        """(files) => {
            const dt = new DataTransfer();
            for (const f of files) dt.items.add(new File([new Uint8Array(f.data)], f.name, {type: f.type}));
            return dt;
        }""",
        payload,
    )
    await zone.dispatch_event("dragenter", {"dataTransfer": transfer})
    await zone.dispatch_event("drop", {"dataTransfer": transfer})


async def row_for(page: Page, label: str) -> str:
    """The test id of the checklist row whose label is ``label``."""
    row = page.locator(".checklist li", has_text=label).first
    test_id = await row.get_attribute("data-testid")
    assert test_id, f"no checklist row {label!r}"
    return test_id


class TestConsoleInABrowser:
    async def test_operator_takes_a_work_order_to_a_released_docx(
        self, stack: StackInfo, browser: Browser
    ) -> None:
        base = stack.urls["console"]
        context = await browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        steps = Steps(page, stack.state_dir / "console-screens" / "desktop")

        # 1. sign in (dev login as the factory operator)
        await page.goto(f"{base}/login")
        await steps.shot("login")
        await page.get_by_label("Factory operator").check()
        await page.get_by_role("button", name="Sign in as this role").click()
        await expect(page.get_by_role("heading", name="Work queue")).to_be_visible()
        await steps.shot("queue")

        # 2. create the work order
        await page.get_by_text("New work order").click()
        await page.get_by_label("Bank name").fill("State Bank of India")
        await page.get_by_label("Bank type").select_option("SBI")
        await page.get_by_label("Report type").select_option("VALUATION")
        await page.get_by_role("button", name="Create").click()
        await expect(page.get_by_test_id("wo-status")).to_have_text("Draft")
        wo_url = page.url
        await steps.shot("created")

        # 3. the contract, and its derived values after the save
        await page.get_by_label("Borrower name").fill("Demo Borrower")
        await page.get_by_label("Address", exact=True).fill("Factory demo site, Bengaluru")
        await page.get_by_label("Survey no.").fill("123/4")
        await page.locator("#f-property__land_area").fill("1200")
        await page.get_by_label("Guideline rate (₹ per sqm)").fill("12000")
        await page.locator("#f-valuation_inputs__market_rate_input").fill("1800")
        await page.get_by_label("Land value (₹)").fill("2000000")
        await page.get_by_label("Building value (₹)").fill("1500000")
        await page.get_by_role("button", name="Save contract").click()
        derived = page.get_by_test_id("derived")
        await expect(derived).to_contain_text("₹3,500,000.00")
        await expect(derived).to_contain_text("₹3,325,000.00")
        await expect(derived).to_contain_text("₹2,800,000.00")
        await steps.shot("contract")

        # a second save makes a new snapshot; the history shows what changed between the two
        await page.get_by_label("City", exact=True).fill("Bengaluru")
        await page.get_by_role("button", name="Save contract").click()
        await expect(page.get_by_test_id("notice-contract")).to_contain_text("Contract saved")
        await page.get_by_label("From", exact=True).select_option("2")
        await page.get_by_label("To", exact=True).select_option("4")
        await page.get_by_role("button", name="Compare").click()
        await expect(page.get_by_test_id("diff")).to_contain_text("property.city")
        await expect(page.get_by_test_id("diff")).to_contain_text("Bengaluru")
        await steps.shot("snapshot-diff")

        # 4. evidence: documents through the real file inputs, photos dropped on the drop zones
        for label, filename in DOCUMENTS.items():
            row = await row_for(page, label)
            text = (f"{label} - Survey No 123/4 - Land area 1200 sq ft",)
            await (
                page.get_by_test_id(row)
                .locator("input[type=file]")
                .set_input_files({"name": filename, "mimeType": "application/pdf", "buffer": pdf_bytes(text)})
            )
            await expect(page.get_by_test_id(row)).to_have_class("done")
        for label, count in PHOTOS.items():
            row = await row_for(page, label)
            files = [
                (f"{label.split()[0].lower()}-{i}.png", "image/png", png(f"{label} {i}"))
                for i in range(count)
            ]
            await drop_files(page, row, files)
            await expect(page.get_by_test_id(row)).to_have_class("done")
        await expect(page.get_by_test_id("readiness-score")).to_have_text("100%")
        await steps.shot("evidence")

        # 5. OCR of the RTC extract: the section refreshes itself until the job is done
        await page.get_by_test_id("ocr-item").select_option(label="DOCUMENT/RTC · rtc.pdf")
        await page.get_by_role("button", name="Run OCR").click()
        await expect(page.get_by_test_id("ocr-job").first).to_have_attribute(
            "data-status", "DONE", timeout=WAIT_MS
        )
        await expect(page.get_by_test_id("ocr-section")).to_contain_text("Survey")
        # a suggested field is accepted into the contract (and linked to the RTC it came from)
        await page.get_by_test_id("ocr-section").get_by_role("button", name="Accept").first.click()
        await expect(page.get_by_test_id("notice-ocr")).to_contain_text("Accepted property.")
        await steps.shot("ocr")

        # 6. accepted into production: DATA_PENDING (billing's acceptance)
        await page.get_by_role("button", name="Move to Data Pending").click()
        await expect(page.get_by_test_id("wo-status")).to_have_text("Data Pending")
        await expect(page.get_by_test_id("gate")).to_be_visible()
        await steps.shot("data-pending")

        # 7. READY_FOR_RENDER: the pack renders while the page polls
        await page.get_by_role("button", name="Move to Ready For Render").click()
        await expect(page.get_by_test_id("wo-status")).to_have_text("Ready For Render")
        await expect(page.get_by_test_id("job-status")).to_have_text("completed")
        await steps.shot("ready-for-render")

        # 8. the DOCX: downloaded bytes match the SHA-256 the page shows
        sha_shown = (await page.get_by_test_id("sha-docx").inner_text()).strip()
        async with page.expect_download() as info:
            await page.get_by_test_id("artifact-docx").click()
        download = await info.value
        saved = steps.folder / "report.docx"
        await download.save_as(str(saved))
        assert hashlib.sha256(saved.read_bytes()).hexdigest() == sha_shown
        assert saved.read_bytes()[:2] == b"PK", "a DOCX is a zip container"
        await steps.shot("docx")

        # 9. release: the gate's answer is on the page before the click; an override needs a reason
        answer = (await page.get_by_test_id("gate-answer").inner_text()).strip()
        if answer != "Releasable":
            await page.get_by_label("Override the gate").check()
            await page.get_by_role("button", name="Release deliverables").click()
            # the browser refuses the empty reason (required), so nothing was sent yet
            await expect(page.get_by_test_id("released")).to_have_count(0)
            await page.get_by_label("Override reason").fill(
                "Invoice to follow: released for the browser test"
            )
        await page.get_by_role("button", name="Release deliverables").click()
        await expect(page.get_by_test_id("released")).to_be_visible()
        await steps.shot("released")

        # the page survives a reload (state is the gateway's, not the browser's)
        await page.goto(wo_url)
        await expect(page.get_by_test_id("released")).to_be_visible()
        assert steps.count == 11
        await context.close()

    async def test_a_tablet_operator_signs_in_by_keyboard_and_nothing_overflows(
        self, stack: StackInfo, browser: Browser
    ) -> None:
        context = await browser.new_context(viewport={"width": 820, "height": 1180}, has_touch=True)
        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        steps = Steps(page, stack.state_dir / "console-screens" / "tablet")
        base = stack.urls["console"]

        # keyboard only: the skip link first, then the role and the sign-in button
        await page.goto(f"{base}/login")
        await page.keyboard.press("Tab")
        await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
        await page.get_by_label("Factory operator").focus()
        await page.keyboard.press("Tab")
        await expect(page.get_by_role("button", name="Sign in as this role")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", name="Work queue")).to_be_visible()

        await page.get_by_text("New work order").click()
        await page.get_by_label("Bank name").fill("Tablet Co-operative Bank")
        await page.get_by_label("Bank type").select_option("COOP")
        await page.get_by_role("button", name="Create").click()
        await expect(page.get_by_test_id("wo-status")).to_have_text("Draft")
        for where in ("work order", "queue"):
            width = await page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert width <= 0, f"the {where} page scrolls sideways by {width}px on a tablet"
            await steps.shot(where.replace(" ", "-"))
            if where == "work order":
                await page.get_by_role("link", name="Work queue").first.click()
                await expect(page.get_by_role("heading", name="Work queue")).to_be_visible()
        await context.close()
