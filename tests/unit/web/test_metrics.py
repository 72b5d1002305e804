"""GET /metrics on a real aiohttp app, parsed back with prometheus_client's parser."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from ivr.storage.batch import WriterStats
from ivr.web import keys
from ivr.web.app import make_web_app
from ivr.web.metrics import metrics_registry
from ivr.web.routes import system

SNAPSHOT: dict[str, Any] = {
    "at": "2026-11-25T10:00:00+00:00",
    "since": "2026-11-24T22:00:00+00:00",
    "timezone": "Europe/Kyiv",
    "totals": {
        "waiting": 2,
        "offered": 12,
        "answered": 10,
        "within_target": 8,
        "abandoned": 2,
        "service_level": 0.8,
        "asa": 11.5,
        "average_talk": 190.0,
        "abandon_rate": 1 / 6,
        "over_guideline": 1,
        "open_callbacks": 3,
        "unreachable_reports": 4,
    },
    "waiting": [
        {
            "call_id": "c-1",
            "queue": "internet",
            "line": "5551000",
            "caller_class": "existing_service",
            "priority": 5,
            "since": "2026-11-25T09:59:30+00:00",
            "wait": 30.0,
            "escalations": [],
        }
    ],
    "agents": [
        {
            "id": "1001",
            "name": "Олена Коваленко",
            "state": "in_call",
            "reason": "",
            "since": "2026-11-25T09:58:00+00:00",
            "in_state": 120.0,
            "queues": ["internet"],
            "answered": 6,
            "average_talk": 150.0,
            "occupancy": 0.75,
            "not_ready_seconds": 600.0,
            "ringing_seconds": 42.5,
            "talk_seconds": 900.0,
        },
        {
            "id": "1002",
            "name": "Андрій Шевченко",
            "state": "paused",
            "reason": "lunch",
            "since": "2026-11-25T09:30:00+00:00",
            "in_state": 1800.0,
            "queues": ["tv"],
            "answered": 0,
            "average_talk": None,
            "occupancy": None,
            "not_ready_seconds": 1800.0,
            "ringing_seconds": 0.0,
            "talk_seconds": 0.0,
        },
        {
            "id": "1003",
            "name": "Ірина Бондаренко",
            "state": "in_call",
            "reason": "",
            "since": "2026-11-25T09:59:00+00:00",
            "in_state": 60.0,
            "queues": ["tv"],
            "answered": 4,
            "average_talk": 247.5,
            "occupancy": 0.5,
            "not_ready_seconds": 0.0,
            "ringing_seconds": 12.0,
            "talk_seconds": 990.0,
        },
    ],
    "queues": [
        {
            "key": "internet",
            "title": "Internet support",
            "answer_target": 20,
            "waiting": 2,
            "longest_wait": 30.0,
            "ready_agents": 0,
            "talking": 1,
            "offered": 8,
            "answered": 7,
            "within_target": 6,
            "abandoned": 1,
            "service_level": 0.75,
            "asa": 12.0,
            "average_talk": 180.0,
            "abandon_rate": 0.125,
            "over_guideline": 1,
        },
        {
            "key": "tv",
            "title": "TV support",
            "answer_target": 30,
            "waiting": 0,
            "longest_wait": 0.0,
            "ready_agents": 0,
            "talking": 1,
            "offered": 0,
            "answered": 0,
            "within_target": 0,
            "abandoned": 0,
            "service_level": None,
            "asa": None,
            "average_talk": None,
            "abandon_rate": None,
            "over_guideline": 0,
        },
    ],
    "lines": [
        {
            "key": "5551000",
            "city": "Kyiv",
            "sphere": "service",
            "offered": 12,
            "answered": 10,
            "within_target": 8,
            "abandoned": 2,
            "service_level": 0.8,
            "asa": 11.5,
            "average_talk": 190.0,
            "abandon_rate": 1 / 6,
            "over_guideline": 1,
            "unreachable_reports": 0,
        }
    ],
    "callbacks": {"open": 2, "dialling": 1, "done": 5, "failed": 0},
    "unreachable": [{"line": "5553000", "reports": 3}, {"line": "5554000", "reports": 1}],
}

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(
    snapshot: Mapping[str, Any], storage: Mapping[str, WriterStats] | None = None
) -> tuple[str, str]:
    app = make_web_app(system.ROUTES)
    app[keys.METRICS] = metrics_registry(
        lambda: snapshot, None if storage is None else lambda: storage
    )
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/metrics")
        assert response.status == 200
        return response.headers["Content-Type"], await response.text()


def samples(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def of(found: Samples, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {labels: value for (n, labels), value in found.items() if n == name}


async def test_content_type_is_prometheus_text() -> None:
    content_type, _ = await scrape(SNAPSHOT)
    assert content_type == "text/plain; version=1.0.0; charset=utf-8"


async def test_queue_metrics_carry_exact_values_and_omit_nulls() -> None:
    _, text = await scrape(SNAPSHOT)
    found = samples(text)
    internet, tv = (("queue", "internet"),), (("queue", "tv"),)
    assert of(found, "ivr_waiting_callers") == {internet: 2, tv: 0}
    assert of(found, "ivr_longest_wait_seconds") == {internet: 30.0, tv: 0.0}
    assert of(found, "ivr_answer_target_seconds") == {internet: 20, tv: 30}
    assert of(found, "ivr_offered_calls") == {internet: 8, tv: 0}
    assert of(found, "ivr_answered_calls") == {internet: 7, tv: 0}
    assert of(found, "ivr_answered_within_target_calls") == {internet: 6, tv: 0}
    assert of(found, "ivr_abandoned_calls") == {internet: 1, tv: 0}
    assert of(found, "ivr_talk_guideline_breaches") == {internet: 1, tv: 0}
    # tv has no call yet: its ratios and averages are null, so they have no sample.
    assert of(found, "ivr_service_level_ratio") == {internet: 0.75}
    assert of(found, "ivr_average_speed_of_answer_seconds") == {internet: 12.0}
    assert of(found, "ivr_average_talk_seconds") == {internet: 180.0}
    assert of(found, "ivr_abandon_ratio") == {internet: 0.125}


async def test_line_overall_and_report_metrics() -> None:
    _, text = await scrape(SNAPSHOT)
    found = samples(text)
    line = (("line", "5551000"),)
    assert of(found, "ivr_line_offered_calls") == {line: 12}
    assert of(found, "ivr_line_service_level_ratio") == {line: 0.8}
    assert of(found, "ivr_line_abandon_ratio") == {line: 1 / 6}
    assert of(found, "ivr_overall_service_level_ratio") == {(): 0.8}
    assert of(found, "ivr_overall_average_speed_of_answer_seconds") == {(): 11.5}
    assert of(found, "ivr_overall_abandoned_calls") == {(): 2}
    assert of(found, "ivr_unreachable_reports") == {
        (("line", "5553000"),): 3,
        (("line", "5554000"),): 1,
    }
    assert of(found, "ivr_callbacks") == {
        (("status", "open"),): 2,
        (("status", "dialling"),): 1,
        (("status", "done"),): 5,
        (("status", "failed"),): 0,
    }
    assert of(found, "ivr_open_callbacks") == {(): 3}
    # 2026-11-24T22:00:00Z
    assert of(found, "ivr_kpi_window_start_timestamp_seconds") == {(): 1795557600.0}


async def test_agent_metrics_count_states_and_omit_nulls() -> None:
    _, text = await scrape(SNAPSHOT)
    found = samples(text)
    assert of(found, "ivr_agents") == {
        (("state", "ready"),): 0,
        (("state", "paused"),): 1,
        (("state", "logged_out"),): 0,
        (("state", "in_call"),): 2,
        (("state", "ringing"),): 0,
        (("state", "unavailable"),): 0,
    }
    assert of(found, "ivr_agent_state") == {
        (("agent", "1001"), ("state", "in_call")): 1,
        (("agent", "1002"), ("state", "paused")): 1,
        (("agent", "1003"), ("state", "in_call")): 1,
    }
    a1, a2, a3 = ((("agent", a),) for a in ("1001", "1002", "1003"))
    assert of(found, "ivr_agent_state_seconds") == {a1: 120.0, a2: 1800.0, a3: 60.0}
    assert of(found, "ivr_agent_answered_calls") == {a1: 6, a2: 0, a3: 4}
    assert of(found, "ivr_agent_occupancy_ratio") == {a1: 0.75, a3: 0.5}
    assert of(found, "ivr_agent_average_talk_seconds") == {a1: 150.0, a3: 247.5}
    assert of(found, "ivr_agent_not_ready_seconds") == {a1: 600.0, a2: 1800.0, a3: 0.0}
    assert of(found, "ivr_agent_ringing_seconds") == {a1: 42.5, a2: 0.0, a3: 12.0}
    assert of(found, "ivr_agent_talk_seconds") == {a1: 900.0, a2: 0.0, a3: 990.0}


async def test_help_names_the_window_and_every_snapshot_metric_is_a_gauge() -> None:
    _, text = await scrape(SNAPSHOT)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert {f.type for f in families.values()} == {"gauge"}
    assert families["ivr_offered_calls"].documentation == (
        "Calls offered (answered + abandoned), since local midnight (Europe/Kyiv)"
    )
    assert "since local midnight" in families["ivr_agent_not_ready_seconds"].documentation
    assert "midnight" not in families["ivr_waiting_callers"].documentation


async def test_no_personal_data_in_the_output() -> None:
    _, text = await scrape(SNAPSHOT)
    for private in ("Олена", "Коваленко", "lunch", "c-1", "existing_service"):
        assert private not in text


async def test_each_scrape_reads_a_fresh_snapshot() -> None:
    calls: list[int] = []

    def snapshot() -> Mapping[str, Any]:
        calls.append(1)
        return {**SNAPSHOT, "callbacks": {"open": len(calls)}}

    app = make_web_app(system.ROUTES)
    app[keys.METRICS] = metrics_registry(snapshot)
    async with TestClient(TestServer(app)) as client:
        for expected in (1, 2):
            text = await (await client.get("/metrics")).text()
            assert of(samples(text), "ivr_callbacks") == {(("status", "open"),): expected}


async def test_an_empty_snapshot_still_scrapes() -> None:
    _, text = await scrape({})
    found = samples(text)
    assert of(found, "ivr_agents")[(("state", "ready"),)] == 0
    assert of(found, "ivr_offered_calls") == {}
    assert of(found, "ivr_kpi_window_start_timestamp_seconds") == {}


async def test_storage_writers_show_their_backlog_and_dead_letters() -> None:
    at = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    storage = {
        "journal": WriterStats(3, 2, at, "TooLong: call_id: 3000 characters, at most 200"),
        "reports": WriterStats(0, 0, None, None),
    }
    _, text = await scrape(SNAPSHOT, storage)
    found = samples(text)
    assert of(found, "ivr_storage_backlog") == {
        (("writer", "journal"),): 3.0,
        (("writer", "reports"),): 0.0,
    }
    assert of(found, "ivr_storage_dead_letters_total") == {
        (("writer", "journal"),): 2.0,
        (("writer", "reports"),): 0.0,
    }
    assert of(found, "ivr_storage_last_dead_letter_timestamp_seconds") == {
        (("writer", "journal"),): at.timestamp()
    }
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["ivr_storage_dead_letters"].type == "counter"
    assert "call_id" not in text  # the error text stays in /health and the table
