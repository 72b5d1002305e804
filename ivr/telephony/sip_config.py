"""telephony.yaml as a frozen, validated model: SIP transports, carrier trunks with their
DIDs, agents' and supervisors' phones, and the RTP port range.

No secret is ever written in telephony.yaml: trunk passwords come from the environment or
a secrets file, phone passwords are generated (ivr.telephony.sip_secrets). Every problem is
reported as `file:line:col: key: message`, all of them at once, like queues.yaml.
"""

import ipaddress
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ivr.config import PROJECT_ROOT
from ivr.queues import validate as v
from ivr.yamlfiles.problems import Located, Problem, Problems, in_file_order, validate_yaml_file
from ivr.yamlfiles.problems import Path as KeyPath

log = logging.getLogger(__name__)
TELEPHONY_FILE = PROJECT_ROOT / "telephony.yaml"  # the sandbox's; `ivr asterisk-config --telephony`
ROOT_KEYS = ("transports", "trunks", "phones", "rtp")
TRANSPORT_KEYS = (
    "protocol",
    "bind",
    "external_media_address",
    "external_signaling_address",
    "local_net",
)
TRUNK_KEYS = (
    "host",
    "port",
    "transport",
    "match",
    "auth",
    "register",
    "dids",
    "dtmf_mode",
    "codecs",
    "outbound",
    "caller_id",
)
PHONE_KEYS = ("username", "transport", "qualify_frequency", "dtmf_mode", "codecs")
PROTOCOLS = ("udp", "tcp")
DTMF_MODES = ("rfc4733", "info", "inband", "auto")
CODECS = ("ulaw", "alaw", "gsm")  # the codec modules the rendered modules.conf loads
HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")  # a name or an IPv4 address
# A DID: digits, a range of equal-length numbers ("5550000-5559999"), or an Asterisk
# pattern of digits, X, Z, N and [...] classes ("_555XXXX").
DID_NUMBER = re.compile(r"[0-9]{1,20}")
DID_RANGE = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")
DID_PATTERN = re.compile(r"_(?:[0-9XZN]|\[[0-9-]+\])+\.?")
CALLER_ID = re.compile(r"\+?[0-9]{1,20}")
USERNAME = re.compile(r"[A-Za-z0-9_.+-]{1,64}")
MAX_QUALIFY = 3600


class TelephonyConfigError(ValueError):
    """telephony.yaml is invalid; the message is every problem, one per line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Transport:
    name: str
    protocol: str  # udp | tcp
    host: str  # bind address
    port: int
    external_media_address: str = ""  # NAT: the public address put in SDP
    external_signaling_address: str = ""  # NAT: the public address put in SIP headers
    local_net: tuple[str, ...] = ()  # NAT: networks reached without the external address


@dataclass(frozen=True)
class Trunk:
    name: str
    host: str  # the carrier's proxy
    port: int
    transport: str
    match: tuple[str, ...] = ()  # identify inbound requests by source address/network
    username: str = ""  # digest credentials we present to the carrier ("": none)
    register: bool = False  # register to the carrier (inbound calls identified by `line`)
    dids: tuple[str, ...] = ()  # numbers, ranges "A-B" or patterns "_555XXXX"
    dtmf_mode: str = "rfc4733"
    codecs: tuple[str, ...] = ("ulaw", "alaw")
    outbound: bool = False  # the trunk callbacks are dialled over
    caller_id: str = ""  # the number presented on outbound calls

    @property
    def context(self) -> str:
        """The dialplan context its inbound calls enter (DIDs -> [ivr-inbound])."""
        return f"ivr-trunk-{self.name}"


@dataclass(frozen=True)
class Phone:
    id: str  # the agent id of queues.yaml (or a supervisor's id); the endpoint name
    username: str  # digest username the phone registers with
    transport: str
    qualify_frequency: int = 30  # seconds between OPTIONS; a phone not answering is unavailable
    dtmf_mode: str = "rfc4733"
    codecs: tuple[str, ...] = ("ulaw", "alaw")


@dataclass(frozen=True)
class TelephonyConfig:
    transports: Mapping[str, Transport]
    trunks: Mapping[str, Trunk]
    phones: Mapping[str, Phone]
    rtp_start: int = 10000
    rtp_end: int = 20000

    @property
    def outbound_trunk(self) -> Trunk | None:
        return next((t for t in self.trunks.values() if t.outbound), None)


def _address(value: Any, path: KeyPath, problems: Problems, what: str) -> str | None:
    if isinstance(value, str) and HOST.fullmatch(value) and len(value) <= 253:
        return value
    problems.add(path, f"expected {what} (a host name or IPv4 address), got {value!r}")
    return None


def _network(value: Any, path: KeyPath, problems: Problems) -> str | None:
    try:
        if isinstance(value, str):
            return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        pass
    problems.add(path, f"expected an IP address or network like 10.0.0.0/8, got {value!r}")
    return None


def _port(value: Any, path: KeyPath, problems: Problems) -> int | None:
    return v.whole(value, path, problems, 1, maximum=65535)  # type: ignore[no-any-return]


def _choice(value: Any, path: KeyPath, problems: Problems, choices: tuple[str, ...]) -> Any:
    if isinstance(value, str) and value in choices:
        return value
    problems.add(path, f"expected one of {', '.join(choices)}, got {value!r}")
    return None


def _codecs(value: Any, path: KeyPath, problems: Problems) -> tuple[str, ...] | None:
    items = value if isinstance(value, list) else None
    if not items or any(not isinstance(c, str) or c not in CODECS for c in items):
        problems.add(path, f"expected a list of codecs from {', '.join(CODECS)}, got {value!r}")
        return None
    return tuple(dict.fromkeys(items))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _flag(value: Any, path: KeyPath, problems: Problems) -> bool | None:
    if isinstance(value, bool):
        return value
    problems.add(path, f"expected true or false, got {value!r}")
    return None


def _name(name: str, path: KeyPath, problems: Problems, what: str) -> None:
    if not v.NAME.fullmatch(name) or name.lower() in ("global", "system"):
        problems.add(path, f"{what} is letters, digits, '_' or '-'", at_key=True)


def _transports(value: Any, problems: Problems) -> dict[str, Transport]:
    path: KeyPath = ("transports",)
    raw = v.mapping(value, path, problems, "a mapping of transport name to transport") or {}
    found: dict[str, Transport] = {}
    for name in v.names(raw, path, problems):
        where = (*path, name)
        _name(name, where, problems, "a transport name")
        entry = v.mapping(raw[name], where, problems, "{protocol: udp, bind: HOST:PORT}")
        if entry is None:
            continue
        v.unknown_keys(entry, where, TRANSPORT_KEYS, problems)
        protocol = _choice(entry.get("protocol", "udp"), (*where, "protocol"), problems, PROTOCOLS)
        bind = entry.get("bind")
        host, _, port_text = str(bind).rpartition(":")
        address = _address(host, (*where, "bind"), problems, "HOST:PORT to listen on")
        port = _port(int(port_text) if port_text.isdigit() else bind, (*where, "bind"), problems)
        nat = {
            key: _address(entry[key], (*where, key), problems, "the public address")
            for key in ("external_media_address", "external_signaling_address")
            if key in entry
        }
        local = _list(entry["local_net"]) if "local_net" in entry else []
        nets = [_network(n, (*where, "local_net"), problems) for n in local]
        if None in (protocol, address, port, *nat.values(), *nets):
            continue
        found[name] = Transport(
            name,
            protocol,
            str(address),
            int(port or 0),
            str(nat.get("external_media_address") or ""),
            str(nat.get("external_signaling_address") or ""),
            tuple(map(str, nets)),
        )
    if not raw and isinstance(value, dict):
        problems.add(path, "no transport: Asterisk would not listen for SIP")
    return found


def did_problem(did: Any) -> str | None:
    """Why a DID entry is not valid, or None."""
    if not isinstance(did, str):
        return f"expected a quoted number, range or pattern, got {did!r}"
    ranged = DID_RANGE.fullmatch(did)
    if ranged:
        low, high = ranged.groups()
        if len(low) != len(high) or int(low) > int(high):
            return f"a range is two numbers of the same length, low-high, got {did!r}"
        return None
    if DID_NUMBER.fullmatch(did) or DID_PATTERN.fullmatch(did):
        return None
    return (
        f'expected a number "5551000", a range "5550000-5559999" or a pattern '
        f'"_555XXXX", got {did!r}'
    )


def _trunk(name: str, spec: Any, transports: Mapping[str, Transport], problems: Problems) -> Any:
    where = ("trunks", name)
    _name(name, where, problems, "a trunk name")
    entry = v.mapping(spec, where, problems, "a mapping with host, dids, ...")
    if entry is None:
        return None
    v.unknown_keys(entry, where, TRUNK_KEYS, problems)
    if "host" not in entry:
        problems.add((*where, "host"), "missing (required): the carrier's address")
    host = _address(entry.get("host"), (*where, "host"), problems, "the carrier's address")
    port = _port(entry.get("port", 5060), (*where, "port"), problems)
    transport = _transport_ref(entry, where, transports, problems)
    match = [_network(m, (*where, "match"), problems) for m in _list(entry.get("match", []))]
    auth = v.mapping(entry.get("auth", {}), (*where, "auth"), problems, "{username: NAME}") or {}
    v.unknown_keys(auth, (*where, "auth"), ("username",), problems)
    username = auth.get("username", "")
    if auth and not (isinstance(username, str) and USERNAME.fullmatch(username)):
        problems.add((*where, "auth", "username"), f"expected a SIP user name, got {username!r}")
        username = None
    register = _flag(entry.get("register", False), (*where, "register"), problems)
    if register and not auth:
        problems.add((*where, "register"), "registering needs auth: {username: ...}")
    dids = _list(entry.get("dids", []))
    for index, did in enumerate(dids):
        problem = did_problem(did)
        if problem:
            problems.add((*where, "dids", index) if "dids" in entry else where, problem)
    if dids and not match and not register:
        message = "a trunk with dids needs match (the carrier's addresses) or register: true"
        problems.add((*where, "dids"), message)
    dtmf = _choice(entry.get("dtmf_mode", "rfc4733"), (*where, "dtmf_mode"), problems, DTMF_MODES)
    codecs = _codecs(entry.get("codecs", ["ulaw", "alaw"]), (*where, "codecs"), problems)
    outbound = _flag(entry.get("outbound", False), (*where, "outbound"), problems)
    caller_id = entry.get("caller_id", "")
    if caller_id != "" and not (isinstance(caller_id, str) and CALLER_ID.fullmatch(caller_id)):
        problems.add((*where, "caller_id"), f"expected a quoted number, got {caller_id!r}")
        caller_id = None
    values = (host, port, transport, username, register, dtmf, codecs, outbound, caller_id)
    if None in values or None in match or any(did_problem(d) for d in dids):
        return None
    return Trunk(
        name,
        str(host),
        int(port or 0),
        str(transport),
        tuple(map(str, match)),
        str(username),
        bool(register),
        tuple(dids),
        str(dtmf),
        codecs or (),
        bool(outbound),
        str(caller_id),
    )


def _transport_ref(
    entry: Mapping[Any, Any],
    where: KeyPath,
    transports: Mapping[str, Transport],
    problems: Problems,
) -> str | None:
    """The transport an endpoint uses: named, or the only one there is."""
    name = entry.get("transport")
    if name is None and len(transports) == 1:
        return next(iter(transports))
    if name in transports:
        return str(name)
    known = ", ".join(sorted(transports)) or "none valid"
    problems.add((*where, "transport"), f"expected a transport name ({known}), got {name!r}")
    return None


def _phone(
    phone_id: str, spec: Any, transports: Mapping[str, Transport], problems: Problems
) -> Any:
    where = ("phones", phone_id)
    _name(phone_id, where, problems, "a phone id (the agent id in queues.yaml)")
    entry = v.mapping({} if spec is None else spec, where, problems, "a mapping of settings")
    if entry is None:
        return None
    v.unknown_keys(entry, where, PHONE_KEYS, problems)
    username = entry.get("username", phone_id)
    if not (isinstance(username, str) and USERNAME.fullmatch(username)):
        problems.add((*where, "username"), f"expected a SIP user name, got {username!r}")
        username = None
    transport = _transport_ref(entry, where, transports, problems)
    qualify = v.whole(
        entry.get("qualify_frequency", 30),
        (*where, "qualify_frequency"),
        problems,
        1,
        " of s",
        MAX_QUALIFY,
    )
    dtmf = _choice(entry.get("dtmf_mode", "rfc4733"), (*where, "dtmf_mode"), problems, DTMF_MODES)
    codecs = _codecs(entry.get("codecs", ["ulaw", "alaw"]), (*where, "codecs"), problems)
    if None in (username, transport, qualify, dtmf, codecs):
        return None
    return Phone(phone_id, str(username), str(transport), int(qualify), str(dtmf), codecs or ())


def _rtp(value: Any, problems: Problems) -> tuple[int, int] | None:
    entry = v.mapping(value, ("rtp",), problems, '{ports: "10000-20000"}')
    if entry is None:
        return None
    v.unknown_keys(entry, ("rtp",), ("ports",), problems)
    ports = DID_RANGE.fullmatch(str(entry.get("ports", "")))
    low, high = (int(ports.group(1)), int(ports.group(2))) if ports else (0, 0)
    if not (1024 <= low < high <= 65535 and (high - low) >= 3):
        message = f'expected "LOW-HIGH" ports from 1024 to 65535, got {entry.get("ports")!r}'
        problems.add(("rtp", "ports"), message)
        return None
    return low, high


def _check(data: Any, problems: Problems) -> TelephonyConfig | None:
    root = v.mapping(data, (), problems, "a mapping with transports, trunks, phones, rtp")
    if root is None:
        return None
    v.unknown_keys(root, (), ROOT_KEYS, problems)
    for key in ("transports", "rtp"):
        if key not in root:
            problems.add((key,), "missing (required)")
    transports = _transports(root.get("transports", {}), problems)
    raw_trunks = v.mapping(root.get("trunks") or {}, ("trunks",), problems, "a mapping") or {}
    trunks = {}
    for name in v.names(raw_trunks, ("trunks",), problems):
        trunk = _trunk(name, raw_trunks[name], transports, problems)
        if trunk is not None:
            trunks[name] = trunk
    outbound = [
        n for n, spec in raw_trunks.items() if isinstance(spec, dict) and spec.get("outbound")
    ]
    for name in outbound[1:]:
        problems.add(("trunks", name, "outbound"), f"only one outbound trunk ({outbound[0]!r})")
    raw_phones = v.mapping(root.get("phones") or {}, ("phones",), problems, "a mapping") or {}
    phones = {}
    for phone_id in v.names(raw_phones, ("phones",), problems):
        if phone_id in raw_trunks:
            message = f"{phone_id!r} is also a trunk (endpoint names are shared)"
            problems.add(("phones", phone_id), message, at_key=True)
        phone = _phone(phone_id, raw_phones[phone_id], transports, problems)
        if phone is not None:
            phones[phone_id] = phone
    rtp = _rtp(root["rtp"], problems) if "rtp" in root else None
    if problems.errors or rtp is None:
        return None
    return TelephonyConfig(transports, trunks, phones, *rtp)


def parse_telephony(
    data: Any, source: str = "telephony.yaml", located: Located | None = None
) -> TelephonyConfig:
    """telephony.yaml data as a model; TelephonyConfigError lists every problem."""
    problems = Problems(source, located)
    config = _check(data, problems)
    if config is None:
        raise TelephonyConfigError(in_file_order(problems.items))
    return config


def validate_telephony(path: str | Path) -> tuple[TelephonyConfig | None, list[Problem]]:
    """The config (None on errors) and every problem; never raises for bad content."""
    return validate_yaml_file(path, _check)


def load_telephony(path: str | Path) -> TelephonyConfig:
    """The validated config; TelephonyConfigError lists every problem. Warnings are logged."""
    config, problems = validate_telephony(path)
    if config is None:
        raise TelephonyConfigError(problems)
    for problem in problems:
        log.warning("%s", problem)
    return config
