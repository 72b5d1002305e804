"""The predicted wait on the real Asterisk, with SIPp callers on the PJSIP trunk: caller A
takes the only agent; caller B joins behind him. The engine predicts B's wait from the live
state (no agent ready, one busy, the queue's handle time), finds it past the answer
target, and at once (long before the target) whispers him his place and predicted wait in
his language followed by the callback offer; the ladder's own offer later is not repeated,
the announcement is, every `every` s. B stays and is answered when A's call ends; his
journal row holds the predicted wait next to the real one."""

from pathlib import Path

from ivr.config import Settings
from ivr.sandbox.calls.tester import agent_behaves
from ivr.sandbox.chroot import Sandbox
from ivr.telephony.ami import AmiClient
from tests.e2e.conftest import eventually, journal_row
from tests.e2e.queues_kit import AmiLog, agent, event, fast_queues, queue_engine
from tests.e2e.sip_menu import sip_callers_in_queue

TARGET = 2.0  # s: the scaled-down 20 s answer target
HANDLE_TIME = 6.0  # s: the queue's configured handle time (the journal has no calls yet)
LADDER_OFFER = 4.0  # s: the ladder's own callback offer (must not come again)
EVERY = 3.0  # s between announcements
TALK = 8.0  # s caller A talks to the agent
# The caller's language is uk (the flow's default here): every prompt has a uk text.
PROMPTS = """\
languages: [uk, en]
default_language: uk
prompts:
  beep: {sound: beep}
  queue_callback_offer: {sound: beep}
  queue_callback_confirm: {sound: beep}
  queue_callback_no_number: {sound: tt-allbusy}
  queue_position:
    uk: "Ваше місце в черзі: {position}."
    en: "Your place in the queue: {position}."
  queue_wait:
    uk: "Орієнтовний час очікування, хвилин: {minutes}."
    en: "Your expected wait, in minutes: {minutes}."
"""


def playback(e: object) -> bool:
    return isinstance(e, dict) and event("Newexten", Application="Playback")(e)


async def test_a_caller_predicted_past_the_target_is_told_and_offered_the_callback_at_once(
    sandbox: Sandbox, settings: Settings, tester: AmiClient, tmp_path: Path
) -> None:
    queues = fast_queues(
        tmp_path,
        agents={"2001": agent("2001", "first_line")},
        answer_target=TARGET,
        handle_time=HANDLE_TIME,
        early_callback=True,
        announce={"position": True, "wait": True, "every": EVERY},
        escalation=[{"after": LADDER_OFFER, "offer_callback": True}],
    )
    log = AmiLog()
    tester.on_event("*", log)
    try:
        async with queue_engine(sandbox, settings, tmp_path, queues) as engine:
            (tmp_path / "flows" / "prompts.yaml").write_text(PROMPTS, encoding="utf-8")
            await eventually(lambda: "queue_wait" in engine.flows.prompts.prompts, timeout=10)
            await agent_behaves(tester, "2001", "0", str(TALK))
            await engine.agents.login("2001")
            async with sip_callers_in_queue(
                sandbox, tester, tmp_path / "a", 1, ["1"], caller_id="380441110001", hold=40
            ):
                _, a_connect = await log.wait_for(event("AgentConnect"), timeout=10)
                await eventually(lambda: engine.agents.staffing("first_line").busy == 1)
                async with sip_callers_in_queue(
                    sandbox, tester, tmp_path / "b", 1, ["1"], caller_id="380441110002",
                    local_port=5062, media_port=16100, hold=40,
                ):  # fmt: skip
                    b_join_at, b_join = await log.wait_for(
                        lambda e: (
                            event("QueueCallerJoin")(e)
                            and e.get("Uniqueid") != a_connect["Uniqueid"]
                        )
                    )
                    b = str(b_join["Uniqueid"])
                    _, predicted = await log.wait_for(event("IvrWaitPredicted", CallID=b), 5)
                    offer_at, offer = await log.wait_for(
                        event("IvrEscalation", CallID=b, Step="offer_callback"), timeout=5
                    )
                    b_connect_at, _ = await log.wait_for(
                        event("AgentConnect", Uniqueid=b), timeout=TALK + 10
                    )
                    row = await journal_row(engine, b, ended=False)
                    # his place (1) and the predicted 6 s, told as 1 minute, in Ukrainian
                    said = [
                        engine.speech.sound_name("Ваше місце в черзі: 1.", "uk"),
                        engine.speech.sound_name("Орієнтовний час очікування, хвилин: 1.", "uk"),
                    ]
                    whispers = [(t, str(e["AppData"])) for t, e in log.find(playback)]
    finally:
        tester.off_event("*", log)
    told = [(round(t - b_join_at, 2), sound) for t, sound in whispers if "ivr-tts/" in sound]
    offers = log.find(event("IvrEscalation", CallID=b, Step="offer_callback"))
    real_wait = b_connect_at - b_join_at
    print(
        f"\nB predicted {predicted['Predicted']} s (ready {predicted['Ready']}, busy "
        f"{predicted['Busy']}, handle {predicted['HandleTime']}), offered "
        f"{offer_at - b_join_at:.2f} s after joining, answered after {real_wait:.2f} s; "
        f"journal predicted {row and row.predicted_wait_seconds} vs wait {row and row.wait_seconds}"
        f"; whispered (s after the join, sound): {told}"
    )
    assert (predicted["Position"], predicted["Ready"], predicted["Busy"]) == ("1", "0", "1")
    assert float(predicted["Predicted"]) == HANDLE_TIME > TARGET
    assert offer_at - b_join_at < 1.0 < TARGET  # at once, not after the target is missed
    assert offer["Detail"].startswith("press 1 (at the join: predicted 6 s > target 2 s)")
    assert len(offers) == 1  # the ladder's offer at LADDER_OFFER did not repeat it
    # the announcement in his language (uk) then the offer, in one whisper at the join; the
    # announcement again every EVERY s while he waits
    first, *again = told
    pieces = first[1].split("&")
    assert first[0] < 1.5 and len(pieces) == 3, told
    assert pieces == [*said, "beep"], (told, said)  # the offer's sound here is a beep
    assert again and all(s == "&".join(said) for _, s in again), told
    assert [round(t / EVERY) for t, _ in again] == list(range(1, len(again) + 1)), told
    assert row is not None and row.predicted_wait_seconds == HANDLE_TIME
    assert row.wait_seconds is not None and abs(row.wait_seconds - real_wait) < 0.5
