"""The agent desk in headless Chromium, against the engine with a real call through the real
Asterisk: sign in, go ready, the screen pop shows the caller's subscriber card, the agent
reconciles his phones and files a report, an appeal, a complaint and a technician request,
each of which lands in the store."""

import asyncio
import re
from pathlib import Path

from playwright.async_api import Locator, Page, expect

from ivr.config import Settings
from ivr.sandbox.calls.place import place_call
from ivr.sandbox.calls.tester import agent_behaves
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.browser import assert_reads, chromium, new_page, ocr, plain, screenshot
from tests.e2e.queues_kit import (
    AGENT_TOKEN,
    OTHER_AGENT_TOKEN,
    WITH_AGENTS,
    agent,
    fast_queues,
    queue_engine,
)

LINE, CITY = "5553000", "Lviv"
CALLER = "380322334455"  # a phone of the seeded subscriber 20000005, Kovács Árpád Gyula
CONTRACT, NAME = "20000005", "Kovács Árpád Gyula"
STRANGER = "380440009999"  # a phone no subscriber has
EXISTING = ["2"]


def phone(page: Page, number: str) -> Locator:
    return page.locator(f"[data-testid=sub-phone][data-phone='{number}']")


async def expect_phones(page: Page, added: str, removed: str) -> None:
    await expect(phone(page, added)).to_have_count(1)
    await expect(phone(page, removed)).to_have_count(0)


async def sign_in(page: Page, agent_id: str, token: str) -> None:
    await page.get_by_test_id("signin-agent").fill(agent_id)
    await page.get_by_test_id("signin-token").fill(token)
    await page.get_by_test_id("signin-submit").click()


async def submit(page: Page, tab: str, fields: dict[str, str]) -> str:
    """Fill the form behind `tab`, send it and return its status line once shown."""
    await page.get_by_test_id(f"tab-{tab}").click()
    form = page.get_by_test_id(f"form-{tab}")
    await expect(form).to_be_visible()
    for name, value in fields.items():
        field = form.locator(f"[name={name}]")
        if await field.evaluate("node => node.tagName") == "SELECT":
            await field.select_option(value)
        else:
            await field.fill(value)
    status = page.get_by_test_id(f"status-{tab}")
    await status.evaluate("node => { node.hidden = true; node.textContent = ''; }")
    await form.locator("button[type=submit]").click()
    await expect(status).to_be_visible()
    return await status.inner_text()


async def test_agent_desk_pops_the_subscriber_and_files_records(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    queues = fast_queues(tmp_path, agents={"2001": agent("2001", "first_line")}, answer_target=60)
    errors: list[str] = []
    async with (
        chromium() as browser,
        new_page(browser, errors) as page,
        queue_engine(sandbox, settings, tmp_path, queues, api_tokens=WITH_AGENTS) as engine,
    ):
        subscriber = engine.directory.find_by_phone(CALLER)
        assert subscriber is not None and subscriber.contract == CONTRACT
        await agent_behaves(tester, "2001", "0", "4")  # answers at once, talks 4 s
        await engine.agents.login("2001", paused=True, reason="briefing")
        await page.goto(f"http://127.0.0.1:{engine.settings.http_port}/agent")

        # a wrong token is refused on the sign-in form; the agent's own token signs in
        await sign_in(page, "2001", "not-the-agent-token")
        error = page.get_by_test_id("signin-error")
        await expect(error).to_be_visible()
        await expect(error).to_contain_text("the API token was not accepted")
        await expect(page.locator("#desk")).to_be_hidden()
        signin_shot = await screenshot(page, tmp_path / "agent-signin-refused.png", "#signin")
        # another agent's token does not open 2001's desk
        await sign_in(page, "2001", OTHER_AGENT_TOKEN)
        await expect(error).to_contain_text('this token may not act as agent "2001"')
        await expect(error).to_contain_text("acts for agent 2002 only")
        await expect(page.locator("#desk")).to_be_hidden()
        await sign_in(page, "2001", AGENT_TOKEN)
        state = page.get_by_test_id("agent-state")
        await expect(state).to_have_attribute("data-state", "paused")
        await expect(page.get_by_test_id("agent-reason")).to_have_text("briefing")
        await expect(page.get_by_test_id("conn-status")).to_have_text("live")
        await expect(page.get_by_test_id("call-empty")).to_be_visible()

        # ready: the subscriber's call is answered by this agent and pops up
        await page.get_by_test_id("btn-ready").click()
        await expect(state).to_have_attribute("data-state", "ready")
        assert engine.agents.get("2001").state == "ready"
        call = asyncio.create_task(place_call(tester, LINE, CALLER, EXISTING, talk=20, timeout=40))
        card = page.get_by_test_id("call-card")
        await expect(card).to_be_visible(timeout=15000)
        await expect(page.get_by_test_id("call-line")).to_have_text(LINE)
        await expect(page.get_by_test_id("call-city")).to_have_text(CITY)
        await expect(page.get_by_test_id("call-caller")).to_have_text(CALLER)
        await expect(page.get_by_test_id("call-queue")).to_have_text("first_line")
        await expect(page.get_by_test_id("call-class")).to_have_text("existing service")
        await expect(page.get_by_test_id("sub-contract")).to_have_text(CONTRACT)
        await expect(page.get_by_test_id("sub-name")).to_have_text(NAME)
        await expect(page.get_by_test_id("sub-office")).to_have_text(subscriber.region_office)
        phones = page.get_by_test_id("sub-phone")
        await expect(phones).to_have_count(len(subscriber.phones))
        call_id = await card.get_attribute("data-call-id")
        call_shot = await screenshot(page, tmp_path / "agent-call.png", "#call-panel")
        card_shot = await screenshot(page, tmp_path / "agent-subscriber.png", "#subscriber-panel")

        # the phones: one added (typed the way callers say it), one removed
        await page.get_by_test_id("phone-add").fill("+38 (067) 000-11-22")
        await page.get_by_test_id("phone-add-submit").click()
        await expect(phone(page, "380670001122")).to_have_count(1)
        await phone(page, "36301234567").get_by_role("button", name="Remove").click()
        await expect(phone(page, "36301234567")).to_have_count(0)
        await expect(page.get_by_test_id("phones-status")).to_have_text("Phone 36301234567 removed")

        # an unreachable-number report, prefilled from the call and the card
        form = page.get_by_test_id("form-unreachable")
        await expect(form.locator("[name=dialled_from]")).to_have_value(CALLER)
        await expect(form.locator("[name=contract]")).to_have_value(CONTRACT)
        report_status = await submit(
            page,
            "unreachable",
            {
                "reported_line": "5552000",
                "published": "leaflet",
                "problem": "no_operator",
                "details": "Rings out after the menu",
            },
        )
        assert re.fullmatch(r"Report #\d+ saved", report_status), report_status

        # an appeal: no subscriber data on screen; the API's refusal is shown as it is
        await page.get_by_test_id("tab-appeal").click()
        await expect(page.get_by_test_id("subscriber-card")).to_be_hidden()
        await expect(page.get_by_test_id("appeal-notice")).to_be_visible()
        appeal_form = page.get_by_test_id("form-appeal")
        await expect(appeal_form.locator("[name=city]")).to_have_value(CITY)
        appeal = {
            "organisation": "Lviv Water Supply",
            "position": "Head of sales",
            "full_name": "Petro Ivanenko",
            "contact_phone": "none",
            "purpose": "A joint leaflet with the provider",
        }
        refused = await submit(page, "appeal", appeal)
        assert refused.startswith("Not saved: contact_phone:"), refused
        appeal_shot = await screenshot(page, tmp_path / "agent-appeal.png")
        appeal_status = await submit(page, "appeal", appeal | {"contact_phone": "+380 32 200 0111"})
        assert re.fullmatch(r"Appeal #\d+ saved", appeal_status), appeal_status

        # a complaint and a technician request for the identified subscriber
        await page.get_by_test_id("tab-complaint").click()
        await expect(page.get_by_test_id("subscriber-card")).to_be_visible()
        await expect(page.get_by_test_id("form-complaint")).to_contain_text(
            f"For {NAME}, contract {CONTRACT}"
        )
        complaint_status = await submit(
            page, "complaint", {"text": "The technician came late twice"}
        )
        assert re.fullmatch(r"Complaint #\d+ saved", complaint_status), complaint_status
        technician_status = await submit(
            page, "technician", {"text": "No internet since the morning"}
        )
        assert re.fullmatch(r"Technician request #\d+ saved", technician_status)

        # the call ends: the card stays, marked ended; a reload keeps the agent signed in
        # (the card keeps the phones as reconciled, also after a reload)
        await expect(page.get_by_test_id("call-ended")).to_be_visible(timeout=15000)
        await expect_phones(page, added="380670001122", removed="36301234567")
        desk_shot = await screenshot(page, tmp_path / "agent-desk.png")
        await page.reload()
        await expect(state).to_be_visible()
        await expect(card).to_have_attribute("data-call-id", call_id or "")
        await expect(page.get_by_test_id("sub-contract")).to_have_text(CONTRACT)
        await expect_phones(page, added="380670001122", removed="36301234567")
        report = await call

        # a caller nobody knows: a fresh card, no subscriber; the agent finds the account
        await agent_behaves(tester, "2001", "0", "1")
        stranger = asyncio.create_task(
            place_call(tester, LINE, STRANGER, EXISTING, talk=20, timeout=40)
        )
        await expect(card).not_to_have_attribute("data-call-id", call_id or "", timeout=15000)
        await expect(page.get_by_test_id("call-caller")).to_have_text(STRANGER)
        await expect(page.get_by_test_id("subscriber-card")).to_be_hidden()
        await expect(page.get_by_test_id("subscriber-search")).to_be_visible()
        await expect(form.locator("[name=contract]")).to_have_value("")
        await page.get_by_test_id("search-value").fill(CONTRACT)
        await page.get_by_test_id("search-submit").click()
        found = page.get_by_test_id("search-result")
        await expect(found).to_have_count(1)
        await expect(found).to_contain_text(NAME)
        await found.get_by_role("button", name="Use this account").click()
        await expect(page.get_by_test_id("sub-contract")).to_have_text(CONTRACT)
        await expect(form.locator("[name=contract]")).to_have_value(CONTRACT)
        await expect(form.locator("[name=dialled_from]")).to_have_value(STRANGER)

        await page.get_by_test_id("pause-reason").fill("after-call work")
        await page.get_by_test_id("btn-pause").click()
        await expect(state).to_have_attribute("data-state", "paused")
        await expect(page.get_by_test_id("agent-reason")).to_have_text("after-call work")
        assert engine.agents.get("2001").reason == "after-call work"
        await stranger

        stored = engine.directory.find_by_id(subscriber.id)
        reports = engine.report_repository.unreachable_reports(line="5552000")
        appeals = engine.desk.appeals()
        complaints = engine.desk.requests(kind="complaint")
        technician = engine.desk.requests(kind="technician")
    assert not errors, errors
    assert call_id == report.call_id, report.summary()

    assert stored is not None
    assert set(stored.phones) == (set(subscriber.phones) | {"380670001122"}) - {"36301234567"}
    assert len(reports) == 1
    filed = reports[0]
    assert (filed.reported_line, filed.via_line, filed.call_id) == ("5552000", LINE, call_id)
    assert (filed.published, filed.problem, filed.dialled_from) == (
        "leaflet",
        "no_operator",
        CALLER,
    )
    assert (filed.subscriber_id, filed.contract, filed.full_name) == (subscriber.id, CONTRACT, NAME)
    assert (filed.caller, filed.details, filed.source) == (
        CALLER,
        "Rings out after the menu",
        "operator",
    )
    assert f"Report #{filed.id} saved" == report_status

    assert len(appeals) == 1
    got = appeals[0]
    assert (got.city, got.organisation, got.position, got.full_name) == (
        CITY,
        "Lviv Water Supply",
        "Head of sales",
        "Petro Ivanenko",
    )
    assert (got.contact_phone, got.purpose) == ("380322000111", "A joint leaflet with the provider")
    assert (got.call_id, got.line, got.agent) == (call_id, LINE, "2001")

    for kind, rows, text in (
        ("complaint", complaints, "The technician came late twice"),
        ("technician", technician, "No internet since the morning"),
    ):
        assert len(rows) == 1, kind
        request = rows[0]
        assert (request.kind, request.text) == (kind, text)
        assert (request.subscriber_id, request.contract, request.full_name) == (
            subscriber.id,
            CONTRACT,
            NAME,
        )
        assert (request.address, request.contact_phone) == (subscriber.address, CALLER)
        assert (request.call_id, request.line, request.agent) == (call_id, LINE, "2001")

    signin_text, card_text, call_text, appeal_text, desk_text = await asyncio.gather(
        ocr(signin_shot, dark=False),
        ocr(card_shot, dark=False),
        ocr(call_shot, dark=False),
        ocr(appeal_shot, dark=False),
        ocr(desk_shot),
    )
    assert_reads(signin_text, "Sign-in failed", "token was not accepted", image=signin_shot)
    assert_reads(card_text, CONTRACT, "Kovacs", "Gyula", "36301234567", image=card_shot)
    assert_reads(call_text, LINE, CITY, CALLER, "first_line", "existing service", image=call_shot)
    assert_reads(desk_text, "Agent desk", "call ended", CONTRACT, "Technician", image=desk_shot)
    # an appeal shows no subscriber data, only the call and the appeal form
    assert_reads(
        appeal_text, "Appeal", "no subscriber data", "Lviv Water Supply", image=appeal_shot
    )
    assert "kovacs" not in plain(appeal_text) and CONTRACT not in appeal_text, appeal_text
