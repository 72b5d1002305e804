"""telephony.yaml rendered into Asterisk's pjsip.conf, rtp.conf and the trunks' dialplan.

Pure functions: a model (and the secrets) in, text out. Passwords go into their own file,
pjsip_auth.conf (mode 0600, `#tryinclude`d by pjsip.conf), so pjsip.conf can be baked into
an image or shown in a review while the secrets are mounted at run time.
"""

from collections.abc import Mapping

from ivr.telephony.sip_config import DID_RANGE, Phone, TelephonyConfig, Trunk

AUTH_FILE = "pjsip_auth.conf"
PHONES_CONTEXT = "ivr-phones"
OUTBOUND_CONTEXT = "ivr-trunk-out"


def phone_secret_key(phone_id: str) -> str:
    return f"phone-{phone_id}"


def trunk_secret_key(trunk_name: str) -> str:
    return f"trunk-{trunk_name}"


def range_patterns(low: str, high: str) -> list[str]:
    """Dialplan patterns that match exactly the numbers low..high (same length):
    5550000-5559999 -> _555XXXX; 100-115 -> _10X, _11[0-5]."""
    if low == high:
        return [low]
    common = next(i for i, (a, b) in enumerate(zip(low, high, strict=True)) if a != b)
    prefix, rest_low, rest_high = low[:common], low[common:], high[common:]
    if set(rest_low) == {"0"} and set(rest_high) == {"9"}:
        return ["_" + prefix + "X" * len(rest_low)]
    tail = len(rest_low) - 1
    first, last = int(rest_low[0]), int(rest_high[0])
    out = range_patterns(low, f"{prefix}{first}{'9' * tail}")
    if last - first == 2:
        out.append(f"_{prefix}{first + 1}{'X' * tail}")
    elif last - first > 2:
        out.append(f"_{prefix}[{first + 1}-{last - 1}]{'X' * tail}")
    out += range_patterns(f"{prefix}{last}{'0' * tail}", high)
    return [p if "X" in p or "[" in p else p.lstrip("_") for p in out]


def did_patterns(dids: tuple[str, ...]) -> list[str]:
    """Every DID entry (number, range or pattern) as dialplan extensions/patterns."""
    out: list[str] = []
    for did in dids:
        ranged = DID_RANGE.fullmatch(did)
        out += range_patterns(*ranged.groups()) if ranged else [did]
    return list(dict.fromkeys(out))


def _section(name: str, **settings: object) -> list[str]:
    lines = [f"[{name}]"]
    for key, value in settings.items():
        if value in ("", None, ()):
            continue
        text = ",".join(value) if isinstance(value, tuple) else str(value)
        lines.append(f"{key} = {text}")
    return [*lines, ""]


def _media(codecs: tuple[str, ...], dtmf_mode: str) -> dict[str, object]:
    # direct_media = no: the media always passes through Asterisk, so a whisper or a
    # recording can be mixed in and NAT'ed parties are reached.
    return {
        "disallow": "all",
        "allow": codecs,
        "dtmf_mode": dtmf_mode,
        "direct_media": "no",
        "rtp_symmetric": "yes",
        "force_rport": "yes",
        "rewrite_contact": "yes",
    }


def _trunk(trunk: Trunk) -> list[str]:
    auth = f"{trunk.name}-auth" if trunk.username else ""
    out = [f"; trunk {trunk.name}: {trunk.host}:{trunk.port}"]
    out += _section(
        trunk.name,
        type="endpoint",
        transport=trunk.transport,
        context=trunk.context,
        **_media(trunk.codecs, trunk.dtmf_mode),
        aors=trunk.name,
        outbound_auth=auth,
        # outbound calls present caller_id (From user here; CALLERID in [ivr-trunk-out]);
        # an endpoint `callerid` would also overwrite the callers' numbers of inbound calls
        from_user=trunk.caller_id,
        send_pai="yes" if trunk.caller_id else "",
        # no mid-call re-INVITE to the carrier each time the connected party changes (the
        # queue ringing an agent, the agent answering): the caller's network shows nothing
        # of it, and a carrier may refuse or drop a call on an unexpected re-INVITE
        send_connected_line="no",
    )
    out += _section(trunk.name, type="aor", contact=f"sip:{trunk.host}:{trunk.port}")
    if trunk.match:
        out += _section(
            f"{trunk.name}-identify", type="identify", endpoint=trunk.name, match=trunk.match
        )
    if trunk.register:
        out += _section(
            f"{trunk.name}-reg",
            type="registration",
            transport=trunk.transport,
            outbound_auth=auth,
            server_uri=f"sip:{trunk.host}:{trunk.port}",
            client_uri=f"sip:{trunk.username}@{trunk.host}:{trunk.port}",
            contact_user=trunk.username,
            retry_interval=60,
            line="yes",  # calls from the registrar are identified by the line parameter
            endpoint=trunk.name,
        )
    return out


def _phone(phone: Phone) -> list[str]:
    out = [f"; phone {phone.id}"]
    out += _section(
        phone.id,
        type="endpoint",
        transport=phone.transport,
        context=PHONES_CONTEXT,
        **_media(phone.codecs, phone.dtmf_mode),
        identify_by="username,auth_username",
        auth=f"{phone.id}-auth",
        aors=phone.id,
    )
    # One registered phone per agent; a newer registration replaces it; OPTIONS every
    # qualify_frequency seconds make a phone that stopped answering Unavailable.
    out += _section(
        phone.id,
        type="aor",
        max_contacts=1,
        remove_existing="yes",
        qualify_frequency=phone.qualify_frequency,
    )
    return out


def render_pjsip_conf(config: TelephonyConfig) -> str:
    """pjsip.conf without any password (those are in AUTH_FILE)."""
    out = ["; Rendered from telephony.yaml by ivr: edit that file, not this one.", ""]
    out += _section("global", type="global", user_agent="ivr")
    for transport in config.transports.values():
        out += _section(
            transport.name,
            type="transport",
            protocol=transport.protocol,
            bind=f"{transport.host}:{transport.port}",
            external_media_address=transport.external_media_address,
            external_signaling_address=transport.external_signaling_address,
            local_net=transport.local_net,
        )
    for trunk in config.trunks.values():
        out += _trunk(trunk)
    for phone in config.phones.values():
        out += _phone(phone)
    out.append(f'#tryinclude "{AUTH_FILE}"')
    return "\n".join(out) + "\n"


def required_secrets(config: TelephonyConfig) -> tuple[list[str], list[str]]:
    """The secret keys the auth file needs: (generated phones', given trunks')."""
    phones = [phone_secret_key(p) for p in config.phones]
    trunks = [trunk_secret_key(t.name) for t in config.trunks.values() if t.username]
    return phones, trunks


def render_pjsip_auth_conf(config: TelephonyConfig, secrets: Mapping[str, str]) -> str:
    """The auth sections, with passwords: keep this file 0600 and out of git."""
    out = ["; Rendered by ivr: SIP passwords. Keep it private (mode 0600, never in git).", ""]
    for trunk in config.trunks.values():
        if trunk.username:
            out += _section(
                f"{trunk.name}-auth",
                type="auth",
                auth_type="userpass",
                username=trunk.username,
                password=secrets[trunk_secret_key(trunk.name)],
            )
    for phone in config.phones.values():
        out += _section(
            f"{phone.id}-auth",
            type="auth",
            auth_type="userpass",
            username=phone.username,
            password=secrets[phone_secret_key(phone.id)],
        )
    return "\n".join(out)


def render_rtp_conf(config: TelephonyConfig) -> str:
    return (
        "; Rendered from telephony.yaml (rtp.ports): publish this range in docker/compose.yaml.\n"
        f"[general]\nrtpstart = {config.rtp_start}\nrtpend = {config.rtp_end}\n"
    )


def render_trunk_dialplan(config: TelephonyConfig) -> str:
    """Each trunk's inbound context (its DIDs into [ivr-inbound], anything else refused
    as an unallocated number: SIP 404), the phones' context and the outbound trunk's."""
    out = ["; Rendered from telephony.yaml by ivr: edit that file, not this one.", ""]
    for trunk in config.trunks.values():
        out.append(f"[{trunk.context}]")
        for pattern in did_patterns(trunk.dids):
            out.append(f"exten => {pattern},1,Goto(ivr-inbound,${{EXTEN}},1)")
        out.append(f"exten => _[+*#0-9a-zA-Z].,1,NoOp(ivr: {trunk.name}: no line ${{EXTEN}})")
        out.append(" same => n,Hangup(1)")
        out.append("")
    # Phones place no calls through the engine yet: anything they dial is refused.
    out += [f"[{PHONES_CONTEXT}]", "exten => _[+*#0-9a-zA-Z].,1,Hangup(21)", ""]
    outbound = config.outbound_trunk
    if outbound is not None:
        trunk = outbound
        local = f"Local/{{phone}}@{OUTBOUND_CONTEXT}/n"
        out.append(f"; callbacks.dial: PJSIP/{{phone}}@{trunk.name}, or {local}")
        out.append(f"[{OUTBOUND_CONTEXT}]")
        first = "1"
        if trunk.caller_id:
            out.append(f"exten => _[+0-9].,1,Set(CALLERID(num)={trunk.caller_id})")
            first = "n"
        dial = f"Dial(PJSIP/${{EXTEN}}@{trunk.name})"
        out.append(f"exten => _[+0-9].,{first},{dial}" if first == "1" else f" same => n,{dial}")
        out.append(" same => n,Hangup()")
        out.append("")
    return "\n".join(out)
