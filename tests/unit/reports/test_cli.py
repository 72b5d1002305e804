"""`ivr report ...` run in-process on a seeded SQLite store with the shipped flows/ (time
zone Europe/Kyiv, line cities) and queues.yaml (agent names, 20 s answer target)."""

from pathlib import Path

import pytest

from ivr.cli import main
from ivr.config import PROJECT_ROOT
from ivr.storage.db import open_store
from tests.unit.reports.seed import seed

DAY = ["--since", "2026-11-24", "--until", "2026-11-25"]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "ivr.db"
    monkeypatch.delenv("IVR_CONFIG", raising=False)
    monkeypatch.delenv("IVR_FLOWS_DIR", raising=False)
    monkeypatch.delenv("IVR_QUEUES_FILE", raising=False)
    monkeypatch.setenv("IVR_DATABASE_URL", f"sqlite:///{db}")
    with open_store(f"sqlite:///{db}") as sessions:
        seed(sessions)
    return db


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["report", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_sla_text(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "sla", *DAY)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "Service level by queue, 2026-11-24 (Europe/Kyiv)"
    assert lines[4].split()[:7] == ["internet", "4", "3", "2", "1", "0", "66.7"]
    assert lines[5].split()[:7] == ["tv", "2", "1", "1", "1", "1", "50.0"]
    assert lines[7].split()[:7] == ["all", "6", "4", "3", "2", "1", "60.0"]
    assert lines[-1].startswith("Service level = answered within 20 s / ")


def test_lines_csv_with_cities_from_flows(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "lines", *DAY, "--csv")
    assert code == 0
    assert out == (
        "line,city,offered,answered,service_level,asa_seconds,abandon_rate,over_guideline,"
        "unreachable_reports\n"
        "5551000,Kyiv,4,3,0.6667,25.0,0.25,1,0\n"
        "5553000,Lviv,2,1,0.5,8.0,0.5,0,1\n"
        "5554000,Kyiv,0,0,,,,0,3\n"
        "all,,6,4,0.6,20.75,0.3333,1,4\n"
    )


def test_sla_by_line_csv(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sla", "--by", "line", *DAY, "--csv")
    assert code == 0
    assert out.splitlines()[1:] == [
        "5551000,Kyiv,4,3,2,1,0,0.6667,25.0,186.6667,0.25,1",
        "5553000,Lviv,2,1,1,1,1,0.5,8.0,200.0,0.5,0",
        "all,,6,4,3,2,1,0.6,20.75,190.0,0.3333,1",
    ]


def test_unreachable_text(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "unreachable", *DAY)
    assert code == 0
    lines = out.splitlines()
    assert lines[4].split() == ["5554000", "Kyiv", "3"]
    assert lines[5].split() == ["5553000", "Lviv", "1"]
    assert lines[7].split() == ["all", "4"]
    assert lines[9] == "Reports, newest first, 2026-11-24 (Europe/Kyiv)"
    assert lines[13].startswith("2026-11-24 12:00  5554000  Kyiv  no_answer  leaflet")
    assert "Марія Сидоренко" in lines[13]


def test_agents_text_names_from_queues(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "agents", *DAY)
    assert code == 0
    rows = [line.split() for line in out.splitlines()[4:6]]
    assert rows == [
        ["1001", "Олена", "Коваленко", "2", "2:40", "1:20", "16.7", "%", "4:00:00", "1:00:00",
         "0:10", "2", "1"],
        ["1002", "Андрій", "Шевченко", "2", "10:00", "5:00", "6.7", "%", "15:00:00", "0:00",
         "0:03", "1", "0"],
    ]  # fmt: skip


@pytest.mark.parametrize("kind", ["sla", "staffing", "lines", "unreachable", "agents"])
def test_plot_writes_a_png(
    kind: str, store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"{kind}.png"
    code, out, err = run(capsys, kind, *DAY, "--csv", "--plot", str(path))
    assert code == 0
    assert err == f"wrote {path}\n"
    assert out.count("\n") >= 2  # the CSV still goes to stdout
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 20_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--since", "24.11.2026"],
            "--since: '24.11.2026' is not a date or time "
            "(expected YYYY-MM-DD or YYYY-MM-DDTHH:MM, local to Europe/Kyiv)",
        ),
        (
            ["--until", "2026-02-30"],
            "--until: '2026-02-30' is not a date or time "
            "(expected YYYY-MM-DD or YYYY-MM-DDTHH:MM, local to Europe/Kyiv)",
        ),
        (
            ["--since", "2026-11-24", "--until", "2026-11-20"],
            "--until: 2026-11-20 00:00 is not after --since 2026-11-24 00:00 (Europe/Kyiv)",
        ),
        (["--plot", "/nonexistent/dir/sla.png"], "--plot: cannot write "
         "/nonexistent/dir/sla.png: no directory /nonexistent/dir"),
        (["--plot", "/tmp"], "--plot: /tmp is a directory; expected a file name ending .png"),
        (["--plot", "sla.jpg"], "--plot: 'sla.jpg': expected a file name ending .png "
         "(or .svg, .pdf)"),
    ],
)  # fmt: skip
def test_bad_options_exit_2_with_one_line(
    args: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = tmp_path / "never.db"
    monkeypatch.setenv("IVR_DATABASE_URL", f"sqlite:///{db}")
    code, out, err = run(capsys, "sla", *args)
    assert (code, out, err) == (2, "", f"ivr report: {message}\n")
    assert not db.exists()  # nothing was opened


def test_an_unknown_report_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["report", "queues"])
    assert caught.value.code == 2
    assert "invalid choice: 'queues'" in capsys.readouterr().err


def test_without_flows_and_queues_times_are_utc_and_labels_left_out(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IVR_FLOWS_DIR", str(tmp_path / "no-flows"))
    monkeypatch.setenv("IVR_QUEUES_FILE", str(tmp_path / "no-queues.yaml"))
    code, out, _ = run(capsys, "sla", "--by", "line", *DAY)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Service level by line, 2026-11-24 (UTC)"
    assert lines[4].split()[:3] == ["5551000", "4", "3"]  # no city
    assert "answered within the answer target" in lines[-1]


MORNING = ["--since", "2026-11-24T09:00", "--until", "2026-11-24T12:00"]


def test_staffing_text(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "staffing", *MORNING)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == (
        "Staffing by hour, all queues (80 % within 20 s), "
        "2026-11-24 09:00 – 2026-11-24 12:00 (Europe/Kyiv)"
    )
    # 10:00: internet 4 calls (talk 186.7 s + wrapup 5 s), tv 1 abandoned (the window's
    # tv talk, 200 s + 5 s): 1 agent each; 1001 and 1002 logged in.
    assert [line.split() for line in lines[4:7]] == [
        ["2026-11-24", "09:00", "0", "-", "0.0", "0", "2.0", "2", "-2.0"],
        ["2026-11-24", "10:00", "5", "3:14", "0.27", "2", "2.0", "2", "0.0"],
        ["2026-11-24", "11:00", "1", "3:25", "0.06", "1", "2.0", "2", "-1.0"],
    ]
    assert lines[-1] == "Peak: 2 agents needed at 2026-11-24 10:00; 0 of 3 hours short of agents."


def test_staffing_of_one_queue_counts_its_agents_only(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "staffing", *MORNING, "--queue", "tv", "--csv")
    assert code == 0
    assert out.splitlines() == [
        "hour,offered,aht_seconds,erlangs,needed,logged_in_average,logged_in_max,gap",
        "2026-11-24 09:00,0,,0.0,0,1.0,1,-1.0",  # 1002 (tv skill); 1001 has none
        "2026-11-24 10:00,1,205.0,0.06,1,1.0,1,0.0",
        "2026-11-24 11:00,1,205.0,0.06,1,1.0,1,0.0",
    ]


def test_staffing_reads_the_goal_from_queues_yaml(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    queues = tmp_path / "queues.yaml"
    text = (PROJECT_ROOT / "queues.yaml").read_text(encoding="utf-8")
    queues.write_text(
        text.replace("service_level_goal: 80", "service_level_goal: 99.9").replace(
            "answer_target: 20", "answer_target: 1"
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("IVR_QUEUES_FILE", str(queues))
    code, out, _ = run(capsys, "staffing", *MORNING)
    assert code == 0
    lines = out.splitlines()
    assert "(99.9 % within 1 s)" in lines[0]
    assert lines[5].split()[5] == "7"  # 10:00: internet 4 + tv 3 (1 + 1 at 80 % in 20 s)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--queue", "nope"], "--queue: 'nope' is not a queue of queues.yaml (queues: "
         "connections, internet, tv, extra, senior, first_line)"),
        (["--since", "2026-11-24", "--until", "2026-11-24"],
         "--until: 2026-11-24 00:00 is not after --since 2026-11-24 00:00 (Europe/Kyiv)"),
    ],
)  # fmt: skip
def test_staffing_bad_options_exit_2_with_one_line(
    args: list[str], message: str, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "staffing", *args) == (2, "", f"ivr report: {message}\n")


def test_staffing_needs_a_valid_queues_yaml(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    queues = tmp_path / "queues.yaml"
    queues.write_text("caller_classes: {}\nqueues: {a: {wrapup: -1}}\nfallback_queue: a\n")
    monkeypatch.setenv("IVR_QUEUES_FILE", str(queues))
    code, out, err = run(capsys, "staffing", *MORNING)
    assert (code, out) == (2, "")
    assert err == (
        f"ivr report: staffing needs a valid queues.yaml: {queues}:2:22: queues.a.wrapup: "
        "expected a whole number of seconds >= 0, got -1\n"
    )


def test_sla_goal_from_queues_yaml(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    queues = tmp_path / "queues.yaml"
    text = (PROJECT_ROOT / "queues.yaml").read_text(encoding="utf-8")
    queues.write_text(text.replace("service_level_goal: 80", "service_level_goal: 92.5"))
    monkeypatch.setenv("IVR_QUEUES_FILE", str(queues))
    code, out, _ = run(capsys, "sla", *DAY, "--plot", str(tmp_path / "sla.png"))
    assert code == 0
    assert "; goal 92.5 %. ASA = average speed of answer." in out.splitlines()[-1]
