"""The supervisor's outage board through the API, heard by callers on the real Asterisk: an
outage posted for an area is announced to the next caller from there, and ending it stops
the announcement."""

from pathlib import Path

import aiohttp

from ivr.config import Settings
from ivr.sandbox.calls.place import place_call
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from ivr.web.tokens import Principal, token_entry
from tests.e2e.conftest import engine_settings, started

KYIV_SUBSCRIBER = "+380441234567"  # contract 10000001 in data/demo-store.yaml, city Kyiv
TOKEN = "supervisor-token-outage-test"
PORT = 18082


async def test_an_outage_posted_through_the_api_is_announced_to_callers(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    tokens = token_entry(Principal("supervisor"), TOKEN)
    custom = engine_settings(settings, tmp_path, api_tokens=tokens, http_port=PORT)
    engine = await started(custom)
    base, auth = f"http://127.0.0.1:{PORT}", {"Authorization": f"Bearer {TOKEN}"}
    try:
        # (the call after the end shows what a Kyiv caller hears with no outage)
        async with aiohttp.ClientSession() as http:
            posted = await http.post(
                f"{base}/api/outages",
                json={
                    "area": "Kyiv",
                    "service": "internet",
                    "message": "Cable repair on Khreshchatyk",
                    "expected_restore": "2030-01-01T18:00:00+02:00",
                },
                headers=auth,
            )
            assert posted.status == 201, await posted.text()
            outage = (await posted.json())["outage"]

            # the same caller now hears the outage and chooses to queue anyway (1)
            during = await place_call(
                tester, "5551000", KYIV_SUBSCRIBER, ["2", "1", "1"], timeout=60
            )
            assert "outage:active>outage_choice:1" in during.path, during.summary()
            assert during.queued_in == "internet", during.summary()

            ended = await http.post(f"{base}/api/outages/{outage['id']}/end", headers=auth)
            assert ended.status == 200, await ended.text()
        # menu 2 (support) -> identified by his number -> no outage in Kyiv -> internet
        after = await place_call(tester, "5551000", KYIV_SUBSCRIBER, ["2", "1"], timeout=60)
        assert "outage:none" in after.path, after.summary()
    finally:
        await engine.stop()
