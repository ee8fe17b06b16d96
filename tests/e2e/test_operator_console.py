"""The operator console in a real browser (Debian's Chromium, driven by Playwright) on the real
stack: an agent signs in, watches an outage's broadcast counts fill in and a new ticket appear
on the board without reloading, and opens the ticket's timeline."""

import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from infra.browser import ensure_chromium
from infra.services import Platform
from tests.e2e.support import Keys

pytestmark = pytest.mark.e2e

WITHIN_MS = 30_000
CUSTOMERS = 3
# Set to a folder (docs/) to keep the screenshots there too, as the README shows them.
SCREENSHOT_DIR_ENV = "SWITCHBOARD_SCREENSHOT_DIR"


@pytest.fixture(scope="session")
def chromium() -> Path:
    return ensure_chromium()


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        # The tests run as root on CI, where Chromium's sandbox cannot start.
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            await launched.close()


async def screenshot(page: Page, folder: Path, name: str) -> None:
    await page.screenshot(path=folder / name, full_page=True)
    keep = os.environ.get(SCREENSHOT_DIR_ENV)
    if keep:
        shutil.copyfile(folder / name, Path(keep) / name)


async def enrol(intake: httpx.AsyncClient, keys: Keys, customer_id: str, region: str) -> None:
    body = {
        "name": f"Customer {customer_id}",
        "contacts": [{"contact_id": "noc", "name": "NOC", "in_app": True}],
        "services": {"regions": [region]},
    }
    response = await intake.put(
        f"/v1/customers/{customer_id}", json=body, headers={"X-API-Key": keys.agent}
    )
    assert response.status_code == 200, response.text


async def post(intake: httpx.AsyncClient, key: str, path: str, body: dict[str, object]) -> str:
    headers = {"X-API-Key": key, "Idempotency-Key": str(uuid.uuid4())}
    response = await intake.post(path, json=body, headers=headers)
    assert response.status_code == 202, response.text
    accepted: dict[str, str] = response.json()
    return accepted.get("incident_id") or accepted["ticket_id"]


async def sign_in(page: Page, platform: Platform, key: str) -> None:
    await page.goto(f"{platform.intake_url}/console?lang=en")
    await page.get_by_label("Agent API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#connection")).to_have_text("live", timeout=WITHIN_MS)


async def test_an_operator_watches_an_outage_and_a_new_ticket_arrive_without_reloading(
    platform: Platform,
    intake: httpx.AsyncClient,
    keys: Keys,
    browser: Browser,
    tmp_path: Path,
) -> None:
    page = await browser.new_page(viewport={"width": 1440, "height": 1000}, locale="en-US")
    await sign_in(page, platform, keys.agent)
    assert keys.agent not in page.url
    cookie = next(c for c in await page.context.cookies() if c["name"] == "switchboard_console")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert keys.agent not in cookie["value"]

    region = f"console-{uuid.uuid4().hex[:8]}"
    suffix = region.removeprefix("console-")
    for n in range(CUSTOMERS):
        await enrol(intake, keys, f"console-{suffix}-{n}", region)
    incident_id = await post(
        intake,
        keys.agent,
        "/v1/incidents",
        {
            "title": "Calls to Lisbon drop after 30 seconds",
            "severity": "major",
            "scope": {"regions": [region]},
            "message": "Engineers are rerouting traffic.",
        },
    )

    incident = page.locator(f"#incident-{incident_id}")
    await expect(incident).to_be_visible(timeout=WITHIN_MS)
    for count in ("affected", "notified", "delivered"):
        await expect(incident.locator(f'[data-count="{count}"]')).to_have_text(
            str(CUSTOMERS), timeout=WITHIN_MS
        )
    await expect(incident.locator('[data-count="failed"]')).to_have_text("0")

    ticket_id = await post(
        intake,
        keys.system,
        "/v1/tickets",
        {
            "customer_id": f"console-{suffix}-0",
            "category": "number_porting",
            "summary": "Porting of +351 21 000 0000 is stuck",
            "call_ids": [f"call-{suffix}"],
            "reporting_system": "crm",
        },
    )
    card = page.locator(f'[data-ticket="{ticket_id}"]')
    await expect(card).to_be_visible(timeout=WITHIN_MS)
    await expect(card.locator("time.clock")).to_have_text(re.compile(r"^\d+h \d{2}m \d{2}s$"))
    lag = page.locator("#lag")
    await expect(
        lag.get_by_role("cell", name="switchboard-workflow", exact=True).first
    ).to_be_visible(timeout=WITHIN_MS)
    await screenshot(page, tmp_path, "console.png")

    await card.get_by_role("button").click()
    timeline = page.locator("#timeline-panel")
    await expect(timeline).to_be_visible()
    await expect(timeline.get_by_text("TicketOpened")).to_be_visible(timeout=WITHIN_MS)
    await expect(timeline.locator(".delivery").first).to_be_visible(timeout=WITHIN_MS)
    await screenshot(page, tmp_path, "console-timeline.png")
    await page.keyboard.press("Escape")
    await expect(timeline).to_be_hidden()

    await page.goto(f"{platform.intake_url}/console?lang=es")
    await expect(page.get_by_role("heading", name="Tickets abiertos")).to_be_visible()
    await expect(page.locator(f'[data-ticket="{ticket_id}"]')).to_be_visible(timeout=WITHIN_MS)
    await page.close()


async def test_a_customer_key_cannot_open_the_console(
    platform: Platform, browser: Browser, customer_key: Callable[[str], Awaitable[str]]
) -> None:
    key = await customer_key("console-outsider")
    page = await browser.new_page()
    await page.goto(f"{platform.intake_url}/console?lang=en")
    await page.get_by_label("Agent API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()

    await expect(page.get_by_role("alert")).to_contain_text("refused")
    assert await page.locator("#console").is_hidden()
    assert not [c for c in await page.context.cookies() if c["name"] == "switchboard_console"]
    await page.close()
