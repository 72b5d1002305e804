"""The SIP benchmark's pure parts: what counts as failed, ratios and their spread, SIPp's
statistics, the probe's steps and the verdict."""

import pytest

from tests.bench.sip import (
    Round,
    pair_ratios,
    parse_args,
    peak_concurrent,
    probe_steps,
    report,
    spread,
)

STATS = """StartTime;LastResetTime;CurrentTime;CurrentCall;SuccessfulCall(C);FailedCall(C);
2026-12-07 04:00:00;2026-12-07 04:00:00;2026-12-07 04:00:01;40;0;0;
2026-12-07 04:00:00;2026-12-07 04:00:01;2026-12-07 04:00:02;97;3;0;
2026-12-07 04:00:00;2026-12-07 04:00:02;2026-12-07 04:00:03;12;88;0;
"""


def a_round(variant: str, calls: int, routed: list[tuple[str, str]], seconds: float) -> Round:
    run = Round(variant, calls, sipp_successful=calls, started=10.0, finished=10.0 + seconds)
    run.done = {f"9{i}": via_queue for i, via_queue in enumerate(routed)}
    return run


def test_a_call_counts_as_served_only_when_routed_as_the_caller_chose() -> None:
    run = a_round(
        "engine",
        5,
        [("engine", "connections"), ("engine", "connections"), ("engine", "internet"),
         ("fallback", "connections")],
        seconds=2.0,
    )  # fmt: skip
    assert run.served == 2  # a menu timeout (internet) and a fallback are not served
    assert run.fallbacks == 1
    assert run.keys_lost == 1
    assert run.failed == 3  # and one call never reported at all
    assert run.rate == 1.0


def test_sip_failures_count_even_when_the_menu_routed_the_call() -> None:
    run = a_round("dialplan", 2, [("dialplan", "connections")] * 2, seconds=1.0)
    run.sipp_successful = 1  # e.g. the BYE went unanswered
    assert run.failed == 1


def test_ratios_pair_the_rounds_and_the_spread_is_median_min_max() -> None:
    engine = [a_round("engine", 10, [("engine", "connections")] * 10, s) for s in (1.0, 2.0, 1.0)]
    dialplan = [a_round("dialplan", 10, [("dialplan", "connections")] * 10, 1.0)] * 3
    assert pair_ratios(engine, dialplan) == [1.0, 0.5, 1.0]
    assert spread([1.0, 0.5, 1.0]) == (1.0, 0.5, 1.0)
    assert spread([3.0, 1.0]) == (2.0, 1.0, 3.0)
    with pytest.raises(ValueError):
        spread([])


def test_the_peak_is_the_most_calls_sipp_had_up_in_any_sample() -> None:
    assert peak_concurrent(STATS) == 97
    assert peak_concurrent("") == 0


def test_the_probe_steps_up_to_its_cap() -> None:
    assert list(probe_steps(200)) == [25, 50, 100, 150, 200]
    assert list(probe_steps(120)) == [25, 50, 100, 120]
    assert list(probe_steps(3)) == [3]


def test_the_verdict_needs_no_failure_and_the_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    args = parse_args(["--cap", "50"])
    fast = [a_round("dialplan", 10, [("dialplan", "connections")] * 10, 1.0)]
    ok = [a_round("engine", 10, [("engine", "connections")] * 10, 1.04)]
    slow = [a_round("engine", 10, [("engine", "connections")] * 10, 1.2)]
    probes = [a_round("probe", n, [("engine", "connections")] * n, 8.0) for n in (25, 50)]
    probes[0].peak, probes[1].peak = 25, 50
    assert report(args, {"engine": ok, "dialplan": fast}, probes) == 0
    assert "most concurrent calls with media held: 50" in capsys.readouterr().out
    assert report(args, {"engine": slow, "dialplan": fast}, probes) == 1  # ratio 0.83
    lost = [a_round("engine", 10, [("engine", "connections")] * 9 + [("engine", "x")], 1.0)]
    assert report(args, {"engine": lost, "dialplan": fast}, probes) == 1
    assert "keys lost (the menu timed out): engine 1, dialplan 0" in capsys.readouterr().out
    probes[1].done.popitem()  # the 50 level lost a call: the box held 25
    assert report(args, {"engine": ok, "dialplan": fast}, probes) == 0
    assert "held: 25 (level 25, stopped at 50 failed" in capsys.readouterr().out


def test_the_saturation_pair_is_reported_but_is_no_target(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = parse_args(["--cap", "0"])
    rated = {
        "engine": [a_round("engine", 10, [("engine", "connections")] * 10, 1.0)],
        "dialplan": [a_round("dialplan", 10, [("dialplan", "connections")] * 10, 1.0)],
    }
    saturated = {
        "engine": a_round("engine", 10, [("engine", "connections")] * 10, 2.0),
        "dialplan": a_round("dialplan", 10, [("dialplan", "connections")] * 10, 1.0),
    }
    saturated["engine"].asterisk_cpu, saturated["engine"].engine_cpu = 0.1, 0.02
    saturated["dialplan"].asterisk_cpu = 0.08
    assert report(args, rated, [], saturated) == 0  # ratio 0.5 at saturation: no target
    out = capsys.readouterr().out
    assert "at saturation: dialplan 10.0, engine 5.0 calls/s (ratio 0.50)" in out
    assert "CPU per call: dialplan 8.0 ms, engine 12.0 ms (Asterisk 10.0 + engine 2.0)" in out
