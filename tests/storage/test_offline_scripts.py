"""The classic AGI scripts of the fallback path (ivr.offline) against a real database, SQLite
and PostgreSQL, with Asterisk's side of the session scripted (tests/fake_classic_agi.py)."""

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import PROJECT_ROOT, Settings, load_settings
from ivr.offline import fallback, meter
from ivr.offline.agi import ClassicAgi
from ivr.offline.runtime import load_config
from ivr.offline.scripts import meter_reading_main
from ivr.storage.models import MeterReadingRecord
from ivr.storage.seed import DEMO_STORE, load_seed_file, seed_store
from tests.fake_classic_agi import FakeAsterisk

SUBSCRIBER = "380441234567"  # contract 10000001 (data/demo-store.yaml)
SHARED = "380440000000"  # two accounts' landline
STRANGER = "380999999999"
DOWN_URL = "postgresql+psycopg://postgres@127.0.0.1:1/test"  # nothing listens there
SERVICE, CONNECTIONS, METER = "5551000", "5552000", "5558000"  # flows/lines.yaml


@pytest.fixture
def settings(
    db_url: str, db_schema: str | None, sessions: sessionmaker[Session], tmp_path: Path
) -> Settings:
    """The engine's settings on the test database (seeded with the demo subscribers)."""
    seed_store(sessions, load_seed_file(DEMO_STORE))
    url = db_url
    if db_schema is not None:
        on_schema = make_url(db_url).set(query={"options": f"-csearch_path={db_schema}"})
        url = on_schema.render_as_string(hide_password=False)
    return replace(load_settings(env={}), database_url=url, prompt_cache_dir=str(tmp_path / "tts"))


async def route(settings: Settings, line: str, caller: str, deadline: float = 10.0) -> FakeAsterisk:
    asterisk = FakeAsterisk([line], {"agi_callerid": caller})
    agi = ClassicAgi(asterisk, asterisk)  # type: ignore[arg-type]
    await fallback.serve(agi, settings, deadline)
    return asterisk


def plain(asterisk: FakeAsterisk) -> bool:
    """Nothing but the lookup's outcome set: the dialplan's plain fallback stands."""
    return not {"IVR_QUEUE", "IVR_CLASS", "IVR_PRIORITY"} & set(asterisk.variables())


async def test_a_connections_line_keeps_new_connection_priority(settings: Settings) -> None:
    variables = (await route(settings, CONNECTIONS, SUBSCRIBER)).variables()
    assert variables == {
        "IVR_FALLBACK_LOOKUP": "ok",
        "IVR_FALLBACK_SELF": "",
        "IVR_QUEUE": "first_line",
        "IVR_CLASS": "new_connection",
        "IVR_PRIORITY": "10",
    }


@pytest.mark.parametrize("caller", [SUBSCRIBER, SHARED, "+38 (044) 123-45-67"])
async def test_a_subscribers_number_is_existing_service(settings: Settings, caller: str) -> None:
    variables = (await route(settings, SERVICE, caller)).variables()
    assert (variables["IVR_CLASS"], variables["IVR_PRIORITY"]) == ("existing_service", "5")


async def test_national_caller_ids_are_read_with_the_engines_country_code(
    settings: Settings,
) -> None:
    national = (await route(settings, SERVICE, "0441234567")).variables()
    assert national["IVR_CLASS"] == "unknown"
    coded = replace(settings, phone_country_code="380")
    assert (await route(coded, SERVICE, "0441234567")).variables()["IVR_CLASS"] == (
        "existing_service"
    )


@pytest.mark.parametrize("caller", [STRANGER, "", "anonymous"])
async def test_anyone_else_gets_the_unknown_class(settings: Settings, caller: str) -> None:
    variables = (await route(settings, SERVICE, caller)).variables()
    assert (variables["IVR_CLASS"], variables["IVR_PRIORITY"]) == ("unknown", "0")
    assert variables["IVR_FALLBACK_LOOKUP"] == "ok"


async def test_a_meter_line_goes_to_the_meter_script(settings: Settings) -> None:
    asterisk = await route(settings, METER, SUBSCRIBER)
    assert asterisk.variables()["IVR_FALLBACK_SELF"] == "meter"
    assert plain(asterisk)


async def test_without_the_database_the_line_still_decides(settings: Settings) -> None:
    down = replace(settings, database_url=DOWN_URL)
    service = (await route(down, SERVICE, SUBSCRIBER)).variables()
    assert (service["IVR_CLASS"], service["IVR_PRIORITY"]) == ("unknown", "0")
    assert service["IVR_FALLBACK_LOOKUP"] == "no-database"
    connections = (await route(down, CONNECTIONS, SUBSCRIBER)).variables()
    assert (connections["IVR_CLASS"], connections["IVR_PRIORITY"]) == ("new_connection", "10")


async def test_a_missing_sqlite_file_is_no_database_and_is_not_created(
    settings: Settings, tmp_path: Path
) -> None:
    missing = tmp_path / "none" / "ivr.db"
    down = replace(settings, database_url=f"sqlite:///{missing}")
    variables = (await route(down, SERVICE, SUBSCRIBER)).variables()
    assert (variables["IVR_FALLBACK_LOOKUP"], variables["IVR_CLASS"]) == ("no-database", "unknown")
    assert not missing.parent.exists()


async def test_broken_flows_leave_the_plain_fallback(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "main.yaml").write_text("name: [", encoding="utf-8")
    asterisk = await route(replace(settings, flows_dir=str(tmp_path / "flows")), SERVICE, "1")
    assert asterisk.variables() == {"IVR_FALLBACK_LOOKUP": "failed", "IVR_FALLBACK_SELF": ""}


async def test_a_lookup_past_its_deadline_leaves_the_plain_fallback(settings: Settings) -> None:
    asterisk = await route(settings, SERVICE, SUBSCRIBER, deadline=0.001)
    assert asterisk.variables()["IVR_FALLBACK_LOOKUP"] == "failed"
    assert plain(asterisk)


# --- meter readings ---------------------------------------------------------------------


class Said:
    """Speech for the test: each text's first words, not a rendered file."""

    async def sound_for(self, text: str, language: str) -> str:
        return f"tts/{language}/{' '.join(text.split()[:2])}"


def readings(sessions: sessionmaker[Session]) -> list[tuple[str | None, ...]]:
    with sessions() as session:
        rows = session.scalars(select(MeterReadingRecord).order_by(MeterReadingRecord.id))
        return [(r.call_id, r.line, r.caller, r.contract, r.reading) for r in rows]


async def meter_call(settings: Settings, caller: str, keys: list[str]) -> FakeAsterisk:
    asterisk = FakeAsterisk([METER], {"agi_callerid": caller}, keys)
    agi = ClassicAgi(asterisk, asterisk)  # type: ignore[arg-type]
    await meter.serve(agi, load_config(settings), Said())
    return asterisk


async def test_a_known_caller_keys_his_reading_and_it_is_stored(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    asterisk = await meter_call(settings, SUBSCRIBER, ["12345"])
    assert readings(sessions) == [("1700000000.1", METER, SUBSCRIBER, "10000001", "12345")]
    assert asterisk.variables() == {"IVR_OFFLINE_STATUS": "done"}
    # the engine's prompts (flows/prompts.yaml, uk): ask, read back, goodbye
    assert asterisk.played() == [
        "tts/uk/Введіть показання",
        "tts/uk/Дякуємо, показання",
        "tts/uk/Дякуємо за",
    ]


async def test_a_stranger_keys_a_contract_then_the_reading(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    await meter_call(settings, STRANGER, ["20000002", "777"])
    assert [r[3:] for r in readings(sessions)] == [("20000002", "777")]


async def test_entries_are_checked_by_the_flows_own_rules(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    # contract: exactly 8 digits (flows/meter.yaml), 3 tries; then goodbye, nothing stored
    asterisk = await meter_call(settings, STRANGER, ["123", "123456789", "1234567*"])
    assert readings(sessions) == []
    assert asterisk.played().count("tts/uk/Невірний вибір.") == 3
    assert asterisk.variables() == {"IVR_OFFLINE_STATUS": "done"}


async def test_an_unknown_contract_stores_nothing(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    asterisk = await meter_call(settings, STRANGER, ["99999999", "5"])
    assert readings(sessions) == []
    assert "tts/uk/Договір не" in asterisk.played()


def test_without_the_database_the_caller_is_not_told_it_is_stored(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "ivr.yaml"
    config.write_text(
        f"database_url: {DOWN_URL}\nprompt_cache_dir: '{tmp_path / 'tts'}'\n", encoding="utf-8"
    )
    monkeypatch.setenv("IVR_CONFIG", str(config))
    asterisk = FakeAsterisk([METER], {"agi_callerid": SUBSCRIBER}, ["12345"])
    assert meter_reading_main(asterisk, asterisk) == 1  # type: ignore[arg-type]
    assert "IVR_OFFLINE_STATUS" not in asterisk.variables()  # the dialplan queues him
    assert asterisk.played() == []  # no prompt: the directory lookup came first, and failed
    logged = [c for c in asterisk.commands if c.startswith("VERBOSE")]
    assert any("meter_reading failed" in c and "OperationalError" in c for c in logged), logged


def test_a_caller_who_hangs_up_ends_the_script_quietly(
    settings: Settings,
    sessions: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "ivr.yaml"
    config.write_text(
        f"database_url: '{settings.database_url}'\nprompt_cache_dir: '{tmp_path / 'tts'}'\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("IVR_CONFIG", str(config))
    asterisk = FakeAsterisk([METER], {"agi_callerid": SUBSCRIBER}, ["12345"])
    asterisk.hang_up_at = 2  # ANSWER, then the first prompt finds the call gone
    assert meter_reading_main(asterisk, asterisk) == 0  # type: ignore[arg-type]
    assert readings(sessions) == []


def test_the_scripts_in_the_dialplan_exist_and_are_executable() -> None:
    dialplan = (PROJECT_ROOT / "dialplans" / "ivr.conf").read_text(encoding="utf-8")
    for script in ("fallback_route.py", "meter_reading.py"):
        assert f"AGI({script}," in dialplan
        path = PROJECT_ROOT / "agi_scripts" / script
        assert path.stat().st_mode & 0o111, path
