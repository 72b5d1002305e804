"""pjsip.conf, its passwords file, rtp.conf and the trunks' dialplan from telephony.yaml."""

import os
import re
from pathlib import Path

import pytest

from ivr.config import PROJECT_ROOT
from ivr.queues.model import load_queues
from ivr.sandbox.asterisk_conf import AsteriskSettings, render_asterisk_config
from ivr.telephony.pjsip_render import (
    did_patterns,
    range_patterns,
    render_pjsip_auth_conf,
    render_pjsip_conf,
    render_rtp_conf,
    render_trunk_dialplan,
)
from ivr.telephony.sip_config import load_telephony, parse_telephony
from ivr.telephony.sip_secrets import SipSecretsError, read_secrets_file, sip_secrets

CONFIG = load_telephony(PROJECT_ROOT / "telephony.yaml")
SECRETS = {f"phone-{p}": f"pw{p}" for p in CONFIG.phones}


def sections(text: str) -> dict[tuple[str, str], dict[str, str]]:
    """(name, type) -> settings of a rendered pjsip.conf."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    for block in re.split(r"\n(?=\[)", text):
        head = re.match(r"\[([^\]]+)\]", block)
        if head is None:
            continue
        values = dict(re.findall(r"^(\w+) = (.*)$", block, re.MULTILINE))
        out[(head.group(1), values.get("type", ""))] = values
    return out


def expand(pattern: str) -> set[str]:
    """Every 3-digit number a pattern matches (for small ranges)."""
    regex = pattern.lstrip("_").replace("X", "[0-9]").replace("Z", "[1-9]").replace("N", "[2-9]")
    return {f"{n:03d}" for n in range(1000) if re.fullmatch(regex, f"{n:03d}")}


@pytest.mark.parametrize(
    ("low", "high"),
    [
        ("100", "115"),
        ("000", "999"),
        ("123", "987"),
        ("555", "555"),
        ("099", "100"),
        ("190", "209"),
    ],
)
def test_range_patterns_match_exactly_the_range(low: str, high: str) -> None:
    matched: set[str] = set()
    for pattern in range_patterns(low, high):
        found = expand(pattern)
        assert not matched & found, pattern  # no overlap
        matched |= found
    assert matched == {f"{n:03d}" for n in range(int(low), int(high) + 1)}


def test_did_patterns() -> None:
    assert did_patterns(("5550000-5559999",)) == ["_555XXXX"]
    assert did_patterns(("5551000", "_380XXXXXXXXX", "5551000")) == ["5551000", "_380XXXXXXXXX"]


def test_trunk_identified_by_ip_media_through_asterisk() -> None:
    conf = sections(render_pjsip_conf(CONFIG))
    trunk = conf[("provider", "endpoint")]
    assert trunk["context"] == "ivr-trunk-provider"
    assert (trunk["allow"], trunk["dtmf_mode"], trunk["direct_media"]) == (
        "ulaw,alaw",
        "rfc4733",
        "no",
    )
    assert "callerid" not in trunk  # it would overwrite inbound callers' numbers
    assert trunk["from_user"] == "5551000"
    assert trunk["send_connected_line"] == "no"  # no re-INVITE when an agent rings/answers
    assert conf[("provider", "aor")]["contact"] == "sip:127.0.0.2:5060"
    assert conf[("provider-identify", "identify")] == {
        "type": "identify",
        "endpoint": "provider",
        "match": "127.0.0.2/32",
    }
    assert conf[("udp", "transport")]["bind"] == "127.0.0.1:5060"


def test_phones_register_with_digest_one_contact_qualified() -> None:
    conf = sections(render_pjsip_conf(CONFIG))
    phone = conf[("1001", "endpoint")]
    assert (phone["auth"], phone["aors"], phone["direct_media"]) == ("1001-auth", "1001", "no")
    assert phone["context"] == "ivr-phones"
    aor = conf[("1001", "aor")]
    assert (aor["max_contacts"], aor["remove_existing"], aor["qualify_frequency"]) == (
        "1",
        "yes",
        "30",
    )
    assert conf[("9001", "aor")]["qualify_frequency"] == "60"
    assert "password" not in render_pjsip_conf(CONFIG)
    auth = sections(render_pjsip_auth_conf(CONFIG, SECRETS))[("1001-auth", "auth")]
    assert (auth["username"], auth["password"], auth["auth_type"]) == ("1001", "pw1001", "userpass")


def test_registration_trunk_with_nat_transport() -> None:
    config = parse_telephony({
        "transports": {"udp": {"bind": "0.0.0.0:5060", "external_media_address": "203.0.113.5",
                               "external_signaling_address": "203.0.113.5",
                               "local_net": ["10.0.0.0/8", "192.168.0.0/16"]}},
        "rtp": {"ports": "10000-20000"},
        "trunks": {"carrier": {"host": "sip.example.net", "auth": {"username": "acct"},
                               "register": True, "dids": ["380441230000-380441239999"],
                               "dtmf_mode": "info", "codecs": ["alaw"]}},
    })  # fmt: skip
    conf = sections(render_pjsip_conf(config))
    assert conf[("udp", "transport")]["local_net"] == "10.0.0.0/8,192.168.0.0/16"
    assert conf[("udp", "transport")]["external_media_address"] == "203.0.113.5"
    reg = conf[("carrier-reg", "registration")]
    assert (reg["client_uri"], reg["line"], reg["endpoint"]) == (
        "sip:acct@sip.example.net:5060",
        "yes",
        "carrier",
    )
    assert conf[("carrier", "endpoint")]["outbound_auth"] == "carrier-auth"
    assert conf[("carrier", "endpoint")]["dtmf_mode"] == "info"
    auth = render_pjsip_auth_conf(config, {"trunk-carrier": "from-carrier"})
    assert "password = from-carrier" in auth
    assert "exten => _38044123XXXX,1,Goto(ivr-inbound,${EXTEN},1)" in render_trunk_dialplan(config)
    assert "rtpstart = 10000\nrtpend = 20000" in render_rtp_conf(config)


def test_trunk_dialplan_refuses_other_numbers_and_calls_out_with_caller_id() -> None:
    plan = render_trunk_dialplan(CONFIG)
    assert "[ivr-trunk-provider]\nexten => _555XXXX,1,Goto(ivr-inbound,${EXTEN},1)\n" in plan
    assert "Hangup(1)" in plan  # unallocated number: SIP 404
    assert "[ivr-trunk-out]\nexten => _[+0-9].,1,Set(CALLERID(num)=5551000)\n" in plan
    assert " same => n,Dial(PJSIP/${EXTEN}@provider)" in plan


def test_asterisk_config_includes_sip_files() -> None:
    files = render_asterisk_config(
        AsteriskSettings(), load_queues(PROJECT_ROOT / "queues.yaml"), (), sandbox=False,
        telephony=CONFIG, sip_secrets=SECRETS,
    )  # fmt: skip
    assert {"pjsip.conf", "pjsip_auth.conf", "rtp.conf", "ivr/telephony.conf"} <= set(files)
    assert '#include "ivr/telephony.conf"' in files["extensions.conf"]
    assert '#tryinclude "pjsip_auth.conf"' in files["pjsip.conf"]
    for module in (
        "res_pjsip.so",
        "chan_pjsip.so",
        "res_rtp_asterisk.so",
        "res_sorcery_config.so",
        "res_pjsip_endpoint_identifier_ip.so",
        "res_pjsip_authenticator_digest.so",
    ):
        assert f"load = {module}" in files["modules.conf"]


def test_phone_secrets_generated_once_0600_trunk_secret_required(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "sip-secrets.conf"
    first = sip_secrets(CONFIG, path, env={})
    assert set(first) == set(SECRETS) and len(set(first.values())) == len(first)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert sip_secrets(CONFIG, path, env={}) == first == read_secrets_file(path)
    trunked = parse_telephony({
        "transports": {"udp": {"bind": "0.0.0.0:5060"}}, "rtp": {"ports": "10000-10999"},
        "trunks": {"carrier": {"host": "sip.example.net", "auth": {"username": "acct"}}},
    })  # fmt: skip
    with pytest.raises(SipSecretsError, match="IVR_SIP_SECRET_TRUNK_CARRIER"):
        sip_secrets(trunked, path, env={})
    given = sip_secrets(trunked, path, env={"IVR_SIP_SECRET_TRUNK_CARRIER": "s3cret"})
    assert given == {"trunk-carrier": "s3cret"}
    with pytest.raises(SipSecretsError, match="line break"):
        sip_secrets(trunked, path, env={"IVR_SIP_SECRET_TRUNK_CARRIER": "a;b"})
