"""Recording in queues.yaml: `record` per queue (default off, defaults may turn it on), the
`recordings` block, every bad value placed at its key, and what they render into:
queues.conf's monitor-format, the dialplan's IVR_RECORDINGS and the MixMonitor module."""

from pathlib import Path

import pytest
import yaml

from ivr.config import PROJECT_ROOT, Settings
from ivr.queues.model import QueuesConfig, RecordingPolicy, load_queues, parse_queues
from ivr.queues.render import render_queues_conf
from ivr.sandbox.asterisk_conf import MODULES, AsteriskSettings, render_asterisk_config
from tests.unit.queues.yaml_cases import edit, problems


def parse(*changes: tuple[str, str]) -> QueuesConfig:
    return parse_queues(yaml.safe_load(edit(*changes)))


def section(conf: str, name: str) -> str:
    return conf.split(f"[{name}]\n", 1)[1].split("\n\n", 1)[0]


def test_no_queue_records_unless_told() -> None:
    config = parse()
    assert [q.record for q in config.queues.values()] == [False, False]
    assert config.recordings == RecordingPolicy()
    assert "monitor-format" not in render_queues_conf(config)
    shipped = load_queues(PROJECT_ROOT / "queues.yaml")
    assert not any(q.record for q in shipped.queues.values())  # callers must be told first


def test_a_queue_that_records_renders_monitor_format_and_only_it() -> None:
    config = parse(("  a: {title: A}", "  a: {title: A, record: true}"))
    assert (config.queues["a"].record, config.queues["b"].record) == (True, False)
    conf = render_queues_conf(config)
    assert "monitor-format = wav" in section(conf, "a").splitlines()
    assert "monitor-format" not in section(conf, "b")


def test_defaults_may_record_and_a_queue_may_opt_out() -> None:
    config = parse(
        ("  talk_guideline: 300", "  talk_guideline: 300\n  record: true"),
        ("  b: {title: B, escalation: []}", "  b: {title: B, escalation: [], record: false}"),
    )
    assert (config.queues["a"].record, config.queues["b"].record) == (True, False)


def test_the_recordings_block_is_read() -> None:
    block = "recordings: {directory: /srv/rec/, retention_days: 0.5, sweep_interval: 60}\n"
    config = parse(("agents:", block + "agents:"))
    assert config.recordings == RecordingPolicy("/srv/rec", 0.5, 60)


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (
            "recordings: {retention_days: -1}",
            "queues.yaml:11:30: recordings.retention_days: "
            "expected days from 0 (keep forever) to 36500, got -1",
        ),
        (
            "recordings: {retention_days: true}",
            "queues.yaml:11:30: recordings.retention_days: "
            "expected days from 0 (keep forever) to 36500, got True",
        ),
        (
            "recordings: {directory: rec}",
            "queues.yaml:11:25: recordings.directory: expected an absolute path of letters, "
            "digits, '_', '-', '.', got 'rec'",
        ),
        (
            "recordings: {directory: /var/../etc}",
            "queues.yaml:11:25: recordings.directory: expected an absolute path of letters, "
            "digits, '_', '-', '.', got '/var/../etc'",
        ),
        (
            'recordings: {directory: "/a b;c"}',
            "queues.yaml:11:25: recordings.directory: expected an absolute path of letters, "
            "digits, '_', '-', '.', got '/a b;c'",
        ),
        (
            "recordings: {keep: 3}",
            "queues.yaml:11:14: recordings.keep: unknown key "
            "(expected: directory, retention_days, sweep_interval)",
        ),
    ],
)
def test_bad_recording_settings_are_placed(tmp_path: Path, block: str, expected: str) -> None:
    assert problems(tmp_path, edit(("callbacks:", block + "\ncallbacks:"))) == [expected]


def test_record_must_be_a_boolean(tmp_path: Path) -> None:
    text = edit(("  a: {title: A}", "  a: {title: A, record: 1}"))
    assert problems(tmp_path, text) == [
        "queues.yaml:17:25: queues.a.record: expected true or false, got 1"
    ]


def test_the_dialplan_learns_the_directory_and_mixmonitor_is_loaded() -> None:
    config = parse(("agents:", "recordings: {directory: /srv/rec}\nagents:"))
    files = render_asterisk_config(AsteriskSettings(), config, (), sandbox=False)
    assert "IVR_RECORDINGS=/srv/rec\n" in files["extensions.conf"]
    assert "app_mixmonitor.so" in MODULES
    queue = files["ivr/ivr.conf"].split("[ivr-queue]", 1)[1].split("\n[", 1)[0]
    named = queue.index("Set(MONITOR_FILENAME=${IVR_RECORDINGS}/${UNIQUEID})")
    assert named < queue.index("same => n,Queue(")  # app_queue reads it when the agent answers


def test_the_engine_reads_recordings_inside_the_sandbox_unless_told() -> None:
    settings = Settings(sandbox_dir="/box")
    assert settings.resolved_recordings_dir("/var/spool/x") == Path("/box/root/var/spool/x")
    elsewhere = Settings(sandbox_dir="/box", recordings_dir="/mnt/rec")
    assert elsewhere.resolved_recordings_dir("/var/spool/x") == Path("/mnt/rec")
