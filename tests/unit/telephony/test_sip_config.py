"""telephony.yaml: the shipped file loads; bad input is every problem as file:line:col."""

from pathlib import Path

import pytest

from ivr.config import PROJECT_ROOT
from ivr.telephony.sip_config import (
    TelephonyConfigError,
    load_telephony,
    parse_telephony,
    validate_telephony,
)

MINIMAL = """transports:
  udp: {protocol: udp, bind: "0.0.0.0:5060"}
rtp: {ports: "10000-10999"}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "telephony.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    config, found = validate_telephony(write(tmp_path, text))
    assert config is None
    return [str(p) for p in found]


def test_shipped_file_loads() -> None:
    config = load_telephony(PROJECT_ROOT / "telephony.yaml")
    trunk = config.trunks["provider"]
    assert trunk.match == ("127.0.0.2/32",) and trunk.dids == ("5550000-5559999",)
    assert (trunk.dtmf_mode, trunk.codecs, trunk.outbound) == ("rfc4733", ("ulaw", "alaw"), True)
    assert config.outbound_trunk == trunk and trunk.context == "ivr-trunk-provider"
    assert config.transports["udp"].host == "127.0.0.1" and config.transports["udp"].port == 5060
    assert (config.rtp_start, config.rtp_end) == (10000, 10999)
    assert config.phones["1001"].username == "1001"
    assert config.phones["1001"].qualify_frequency == 30


def test_phones_are_the_agents_of_queues_yaml() -> None:
    from ivr.queues.model import load_queues

    agents = load_queues(PROJECT_ROOT / "queues.yaml").agents
    phones = load_telephony(PROJECT_ROOT / "telephony.yaml").phones
    assert set(agents) <= set(phones)


def test_minimal_file_has_defaults(tmp_path: Path) -> None:
    config = load_telephony(write(tmp_path, MINIMAL + 'phones:\n  "2001": {}\n'))
    assert config.trunks == {} and config.outbound_trunk is None
    phone = config.phones["2001"]
    assert (phone.transport, phone.dtmf_mode, phone.codecs) == ("udp", "rfc4733", ("ulaw", "alaw"))


def test_every_problem_is_located(tmp_path: Path) -> None:
    text = MINIMAL + (
        "trunks:\n"
        "  carrier:\n"
        "    host: sip.example.net\n"
        "    match: 10.0.0.300\n"  # line 7
        '    dids: ["5550000-555999", 5551000]\n'  # line 8
        "    dtmf_mode: pulse\n"  # line 9
        "    codecs: [ulaw, opus]\n"  # line 10
        "    secret: hunter2\n"  # line 11: never in the yaml
        "phones:\n"
        "  1001: {}\n"  # line 13: a number
        '  "1002": {qualify_frequency: 0}\n'  # line 14
    )
    found = problems(tmp_path, text)
    path = str(tmp_path / "telephony.yaml")
    assert f"{path}:7:12: trunks.carrier.match: expected an IP address" in "\n".join(found)
    assert any(p.startswith(f"{path}:8:12: trunks.carrier.dids[0]: a range is two") for p in found)
    assert any(
        p.startswith(f"{path}:8:30: trunks.carrier.dids[1]: expected a quoted") for p in found
    )
    assert any(
        p.startswith(f"{path}:9:16: trunks.carrier.dtmf_mode: expected one of") for p in found
    )
    assert any(p.startswith(f"{path}:10:13: trunks.carrier.codecs: expected a list") for p in found)
    assert any(p.startswith(f"{path}:11:5: trunks.carrier.secret: unknown key") for p in found)
    assert any(
        p.startswith(f"{path}:13:3: phones.1001: YAML reads this as a number") for p in found
    )
    assert any(p.startswith(f"{path}:14:31: phones.1002.qualify_frequency:") for p in found)


def test_trunk_with_dids_needs_a_way_to_be_identified(tmp_path: Path) -> None:
    text = MINIMAL + 'trunks:\n  c: {host: h.example, dids: ["5551000"]}\n'
    assert any("needs match" in p for p in problems(tmp_path, text))
    ok = MINIMAL + (
        'trunks:\n  c: {host: h.example, dids: ["5551000"], register: true, '
        "auth: {username: acct}}\n"
    )
    assert load_telephony(write(tmp_path, ok)).trunks["c"].register


def test_register_needs_auth_and_only_one_outbound_trunk(tmp_path: Path) -> None:
    text = MINIMAL + (
        "trunks:\n"
        "  a: {host: a.example, register: true, outbound: true}\n"
        "  b: {host: b.example, outbound: true}\n"
    )
    found = problems(tmp_path, text)
    assert any("registering needs auth" in p for p in found)
    assert any("trunks.b.outbound: only one outbound trunk ('a')" in p for p in found)


def test_phone_and_trunk_names_are_distinct_endpoints(tmp_path: Path) -> None:
    text = MINIMAL + 'trunks:\n  "1001": {host: a.example}\nphones:\n  "1001": {}\n'
    assert any("is also a trunk" in p for p in problems(tmp_path, text))


def test_two_transports_need_a_choice(tmp_path: Path) -> None:
    text = (
        'transports:\n  udp: {bind: "0.0.0.0:5060"}\n  tcp: {protocol: tcp, bind: "0.0.0.0:5060"}\n'
        'rtp: {ports: "10000-10999"}\nphones:\n  "1001": {}\n  "1002": {transport: tcp}\n'
    )
    found = problems(tmp_path, text)
    assert any("phones.1001.transport: expected a transport name (tcp, udp)" in p for p in found)
    assert not any("phones.1002" in p for p in found)


def test_bad_rtp_range_and_bind(tmp_path: Path) -> None:
    text = 'transports:\n  udp: {bind: "0.0.0.0"}\nrtp: {ports: "20000-10000"}\n'
    found = problems(tmp_path, text)
    assert any("transports.udp.bind" in p for p in found)
    assert any('rtp.ports: expected "LOW-HIGH"' in p for p in found)


def test_not_yaml_or_missing_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    assert "not valid YAML" in problems(tmp_path, "transports: [\n")[0]
    assert any("cannot read" in str(p) for p in validate_telephony(tmp_path / "nope.yaml")[1])


def test_parse_raises_with_every_problem() -> None:
    with pytest.raises(TelephonyConfigError) as raised:
        parse_telephony({"rtp": {"ports": "1-2"}, "phones": "x"})
    text = str(raised.value)
    assert "transports: missing (required)" in text and "rtp.ports" in text


def test_readme_example_loads(tmp_path: Path) -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Going live on PJSIP", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    config = load_telephony(write(tmp_path, example))
    trunk = config.trunks["provider"]
    assert trunk.username == "acct-4411" and trunk.match == ("198.51.100.0/28",)
    assert config.transports["udp"].local_net == ("10.0.0.0/8", "192.168.0.0/16")
    assert config.phones["1002"].codecs == ("alaw",)


def test_cli_validate_prints_problems_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ivr.cli import main

    assert main(["telephony", "validate", str(PROJECT_ROOT / "telephony.yaml")]) == 0
    assert "telephony: ok (1 transports, 1 trunks, 7 phones" in capsys.readouterr().out
    bad = write(tmp_path, MINIMAL + "phones: {x: {codecs: [opus]}}\n")
    assert main(["telephony", "validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:4:22: phones.x.codecs: expected a list of codecs" in out
    assert "telephony: 1 error(s), 0 warning(s)" in out
