"""queues.yaml as a model: the shipped file, defaults, escalation ladders, callbacks."""

import re
from pathlib import Path

import pytest
import yaml

from ivr.config import PROJECT_ROOT
from ivr.queues.model import (
    Announcement,
    CallbackPolicy,
    EscalationStep,
    QueuesConfigError,
    load_queues,
    parse_queues,
    validate_queues,
)
from tests.unit.queues.yaml_cases import BASE, edit

SHIPPED = PROJECT_ROOT / "queues.yaml"


def test_the_shipped_file_has_no_problems() -> None:
    config, problems = validate_queues(SHIPPED)
    assert problems == [] and config is not None
    assert list(config.queues) == ["connections", "internet", "tv", "extra", "senior", "first_line"]
    assert {n: c.priority for n, c in config.caller_classes.items()} == {
        "new_connection": 10,
        "existing_service": 5,
        "non_target": 1,
        "unknown": 0,
    }
    assert config.fallback_queue == "first_line"
    assert config.queues["connections"].title == "New connections (sales)"
    skilled = {queue for agent in config.agents.values() for queue in agent.skills}
    assert skilled == set(config.queues)
    assert all(a.interface == f"PJSIP/{a.id}" for a in config.agents.values())


def test_the_senior_queue_does_not_overflow() -> None:
    queues = load_queues(SHIPPED).queues
    assert [s.action for s in queues["senior"].escalation] == ["raise_priority"]
    assert [s.action for s in queues["tv"].escalation] == [
        "raise_priority",
        "offer_callback",
        "overflow",
    ]
    assert queues["tv"].escalation[2] == EscalationStep(60, "overflow", queue="senior")


def test_defaults_apply_and_a_queue_overrides_them() -> None:
    text = edit(("  a: {title: A}", "  a: {title: A, answer_target: 30, autopause: no}"))
    config = parse_queues(yaml.safe_load(text))
    a, b = config.queues["a"], config.queues["b"]
    assert (a.answer_target, b.answer_target, a.talk_guideline) == (30, 20, 300)
    assert (a.autopause, b.autopause) == ("no", "all")  # YAML's `no` is false
    assert (a.ring_time, a.retry, a.wrapup, a.hard_limit, a.strategy) == (6, 1, 5, 0, "rrmemory")
    assert [s.action for s in a.escalation] == ["raise_priority", "overflow"]
    assert b.escalation == ()  # its own empty ladder replaces the default one


def test_the_service_level_goal_is_a_percentage_defaulting_to_80(tmp_path: Path) -> None:
    text = edit(("  a: {title: A}", "  a: {title: A, service_level_goal: 90}"))
    queues = parse_queues(yaml.safe_load(text)).queues
    assert (queues["a"].service_level_goal, queues["b"].service_level_goal) == (90, 80)
    path = tmp_path / "queues.yaml"
    for bad in ("0", "100", "high", "true"):
        path.write_text(edit(("  a: {title: A}", f"  a: {{title: A, service_level_goal: {bad}}}")))
        config, problems = validate_queues(path)
        assert config is None
        assert len(problems) == 1
        assert re.fullmatch(
            rf"{re.escape(str(path))}:\d+:\d+: queues.a.service_level_goal: expected a "
            rf"percentage above 0 and below 100, got {re.escape(repr(yaml.safe_load(bad)))}",
            str(problems[0]),
        )


def test_times_may_be_fractions_for_fast_tests() -> None:
    text = edit(
        ("answer_target: 20", "answer_target: 0.5"),
        ("talk_warning: 240", "talk_warning: 1.5"),
        ("talk_guideline: 300", "talk_guideline: 2.5"),
        ("{after: 20, raise_priority: 3}", "{after: 0.75, raise_priority: 3}"),
        ("{after: 60, overflow: b}", "{after: 0.25, offer_callback: true}"),
    )
    queue = parse_queues(yaml.safe_load(text)).queues["a"]
    assert (queue.answer_target, queue.talk_warning, queue.talk_guideline) == (0.5, 1.5, 2.5)
    assert [s.after for s in queue.escalation] == [0.25, 0.75]  # sorted by `after`


def test_callbacks_default_when_absent() -> None:
    text = edit(('  dial: "PJSIP/{phone}@out"\n  accept_key: "1"\n', "  promise: 60\n"))
    callbacks = parse_queues(yaml.safe_load(text)).callbacks
    assert callbacks == CallbackPolicy(promise=60)
    assert CallbackPolicy().ring_timeout_ms == 36000  # the 6th ring of 6 s each
    assert CallbackPolicy(max_rings=2, ring_seconds=0.25).ring_timeout_ms == 500


@pytest.mark.parametrize(
    "dial",
    [
        "PJSIP/{phone}@provider",  # the trunk itself
        "Local/{phone}@ivr-callback-out/n",  # a Local channel that stays in the queue
        "local/{phone}@ivr-callback-out/nj",
        "SIP/provider/{phone}",
    ],
)
def test_a_dial_string_that_keeps_one_channel_in_the_queue_is_taken(dial: str) -> None:
    text = edit(('dial: "PJSIP/{phone}@out"', f'dial: "{dial}"'))
    assert parse_queues(yaml.safe_load(text)).callbacks.dial == dial


def test_the_shipped_callbacks_dial_the_trunk() -> None:
    assert CallbackPolicy().dial == "PJSIP/{phone}@provider"


def test_an_unquoted_accept_key_is_read_as_its_digit() -> None:
    config = parse_queues(yaml.safe_load(edit(('accept_key: "1"', "accept_key: 7"))))
    assert config.callbacks.accept_key == "7"


def test_errors_without_positions_name_the_key() -> None:
    base = {"caller_classes": {}, "queues": {"x": {}}, "fallback_queue": "x"}
    with pytest.raises(QueuesConfigError, match=r"^queues.yaml: queues.x.strategy: expected one"):
        parse_queues({**base, "queues": {"x": {"strategy": "fastest"}}})
    with pytest.raises(QueuesConfigError, match=r"fallback_queue: 'nope' is not a queue"):
        parse_queues({**base, "fallback_queue": "nope"})
    with pytest.raises(QueuesConfigError, match=r"caller_classes.vip.priority: expected an int"):
        parse_queues({**base, "caller_classes": {"vip": {"priority": "high"}}})
    with pytest.raises(QueuesConfigError, match=r"queues.general: a queue name"):
        parse_queues({**base, "queues": {"general": {}}, "fallback_queue": "general"})


def test_the_error_carries_every_problem() -> None:
    data = yaml.safe_load(edit(("answer_target: 20", "answer_target: 0"), ("vip:", "vip: 1 #")))
    with pytest.raises(QueuesConfigError) as raised:
        parse_queues(data, "q.yaml")
    assert [str(p) for p in raised.value.problems] == str(raised.value).splitlines()
    assert len(raised.value.problems) == 2


def test_a_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    config, problems = validate_queues(tmp_path / "nope.yaml")
    assert config is None
    assert [str(p) for p in problems] == [
        f"{tmp_path}/nope.yaml: cannot read: No such file or directory"
    ]
    with pytest.raises(QueuesConfigError, match="cannot read"):
        load_queues(tmp_path / "nope.yaml")


def test_the_base_file_parses() -> None:
    config = parse_queues(yaml.safe_load(BASE))
    assert config.agents["1001"].skills == {"a": 0, "b": 1}
    assert config.agents["1001"].name == "Олена"


def test_a_local_interface_may_name_the_phone_whose_state_counts() -> None:
    data = yaml.safe_load(
        edit(("interface: PJSIP/1001", "interface: Local/1001@agents, state_interface: PJSIP/1001"))
    )
    agent = parse_queues(data).agents["1001"]
    assert (agent.interface, agent.state_interface) == ("Local/1001@agents", "PJSIP/1001")
    assert parse_queues(yaml.safe_load(BASE)).agents["1001"].state_interface == ""


def test_an_agents_pjsip_phone_must_be_in_telephony_yaml(tmp_path: Path) -> None:
    path = tmp_path / "queues.yaml"
    path.write_text(
        edit(("interface: PJSIP/1001", "interface: Local/1001@a, state_interface: PJSIP/1009")),
        encoding="utf-8",
    )
    assert validate_queues(path)[1] == []  # no telephony.yaml given: not checked
    config, problems = validate_queues(path, {"1001", "9001"})
    assert config is None
    assert [str(p).replace(f"{tmp_path}/", "") for p in problems] == [
        "queues.yaml:15:67: agents.1001.state_interface: '1009' is not a phone of "
        "telephony.yaml (phones: 1001, 9001)"
    ]
    path.write_text(BASE, encoding="utf-8")
    assert validate_queues(path, {"1001"})[1] == []  # PJSIP/1001 is a phone
    config, problems = validate_queues(path, set())
    assert [p.message for p in problems] == [
        "'1001' is not a phone of telephony.yaml (phones: none)"
    ]


def test_prediction_and_announcement_settings_default_off_and_inherit() -> None:
    config = parse_queues(
        yaml.safe_load(
            edit(
                ("  escalation:\n", "  early_callback: true\n  handle_time: 95\n  escalation:\n"),
                ("  a: {title: A}", "  a: {title: A, announce: {wait: true, every: 30}}"),
            )
        )
    )
    a, b = config.queues["a"], config.queues["b"]
    assert (a.early_callback, a.handle_time, b.early_callback, b.handle_time) == (
        True,
        95,
        True,
        95,
    )
    assert a.announce == Announcement(by="engine", position=False, wait=True, every=30)
    assert a.announce.on and not b.announce.on
    assert b.announce == Announcement()
    plain = parse_queues(yaml.safe_load(BASE)).queues["a"]
    assert (plain.early_callback, plain.handle_time, plain.announce.on) == (False, 180, False)
