"""outage_alerts in queues.yaml: defaults, the shipped values, every bad value placed at
its key."""

from pathlib import Path

import pytest
import yaml

from ivr.config import PROJECT_ROOT
from ivr.queues.model import OutageAlertPolicy, load_queues, parse_queues
from tests.unit.queues.yaml_cases import edit, problems


def test_defaults_when_the_block_is_absent() -> None:
    assert parse_queues(yaml.safe_load(edit())).outage_alerts == OutageAlertPolicy()


def test_the_block_is_read() -> None:
    block = (
        "outage_alerts: {enabled: false, window: 60, factor: 2, min_calls: 3, clear_ratio: 1,"
        " baseline_weeks: 2, baseline_refresh: 5, check_interval: 0.5, message_prompt: m}\n"
    )
    config = parse_queues(yaml.safe_load(edit(("agents:", block + "agents:"))))
    assert config.outage_alerts == OutageAlertPolicy(False, 60, 2.0, 3, 1.0, 2, 5, 0.5, "m")


def test_the_shipped_file_alerts_at_three_times_the_usual_and_ten_calls() -> None:
    policy = load_queues(PROJECT_ROOT / "queues.yaml").outage_alerts
    assert (policy.enabled, policy.window, policy.factor, policy.min_calls) == (True, 600, 3, 10)


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ("{window: 0}", "outage_alerts.window: expected a number of seconds > 0, got 0"),
        ("{factor: 0.5}", "outage_alerts.factor: expected a number from 1 to 1000, got 0.5"),
        ("{clear_ratio: 0}", "outage_alerts.clear_ratio: expected a number > 0 and <= 1, got 0"),
        ("{min_calls: 0}", "outage_alerts.min_calls: expected a whole number >= 1, got 0"),
        ("{enabled: 1}", "outage_alerts.enabled: expected true or false, got 1"),
        ("{windw: 60}", "outage_alerts.windw: unknown key (did you mean 'window'?)"),
        ("{message_prompt: ''}", "outage_alerts.message_prompt: expected a prompt name, got ''"),
    ],
)
def test_bad_settings_are_placed(tmp_path: Path, block: str, expected: str) -> None:
    found = problems(tmp_path, edit(("agents:", f"outage_alerts: {block}\nagents:")))
    assert len(found) == 1, found
    assert found[0].startswith("queues.yaml:14:") and found[0].endswith(expected), found
