"""Asterisk configuration generated from the project: the sandbox and docker/ use the same files.

Modules are trimmed to what the engine needs; AMI listens on loopback only, with a
least-privilege engine user. Secrets are passed in, never written into the repository.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ivr.config import PROJECT_ROOT
from ivr.queues.model import QueuesConfig
from ivr.queues.render import render_queues_conf
from ivr.telephony.pjsip_render import (
    AUTH_FILE,
    render_pjsip_auth_conf,
    render_pjsip_conf,
    render_rtp_conf,
    render_trunk_dialplan,
)
from ivr.telephony.sip_config import TelephonyConfig

DIALPLANS_DIR = PROJECT_ROOT / "dialplans"
TELEPHONY_DIALPLAN = "ivr/telephony.conf"  # rendered: the trunks' inbound contexts

MODULES = (
    # dialplan, AGI, queueing, AMI user events
    "pbx_config.so",
    "res_speech.so",
    "res_agi.so",
    "app_queue.so",
    "app_userevent.so",
    "app_playback.so",
    "app_read.so",
    "app_senddtmf.so",
    "app_chanspy.so",
    "app_stack.so",
    "app_while.so",
    "app_verbose.so",
    "app_originate.so",
    "app_echo.so",
    "app_playtones.so",  # PlayTones: the sandbox's talking test agent (ivr-test-agent-tone)
    "app_mixmonitor.so",  # queues with record: true (app_queue starts it on answer)
    "app_dial.so",
    "func_logic.so",
    "func_strings.so",
    "func_math.so",
    "func_timeout.so",
    "func_callerid.so",
    "func_channel.so",
    "func_global.so",
    "func_cut.so",
    "func_uri.so",  # URIENCODE: caller text inside UserEvents
    "func_devstate.so",  # DEVICE_STATE: is a supervisor's phone free (ivr.monitors.supervise)
    "func_db.so",  # DB, DB_KEYS: the fallback's trace (dialplans/ivr.conf [ivr-fallback])
    "func_groupcount.so",  # GROUP_COUNT: IVR_FALLBACK_SCRIPTS fallback_route.py at most
    # media: bridging, timing, music on hold, sound formats and codecs
    "bridge_simple.so",
    "bridge_softmix.so",
    "bridge_holding.so",
    "bridge_builtin_features.so",
    "res_timing_timerfd.so",
    "res_musiconhold.so",
    "format_gsm.so",
    "format_wav.so",
    "format_pcm.so",
    "format_sln.so",
    "codec_gsm.so",
    "codec_ulaw.so",
    "codec_alaw.so",
    "codec_resample.so",
    "res_clioriginate.so",
    # SIP (PJSIP) and RTP: trunks and phones from telephony.yaml
    "res_sorcery_config.so",
    "res_sorcery_memory.so",
    "res_sorcery_memory_cache.so",
    "res_sorcery_astdb.so",
    "res_pjproject.so",
    "res_pjsip.so",
    "res_pjsip_session.so",
    "res_pjsip_pubsub.so",  # chan_pjsip needs it
    "chan_pjsip.so",
    "res_pjsip_authenticator_digest.so",
    "res_pjsip_outbound_authenticator_digest.so",
    "res_pjsip_endpoint_identifier_ip.so",
    "res_pjsip_endpoint_identifier_user.so",
    "res_pjsip_registrar.so",
    "res_pjsip_outbound_registration.so",
    "res_pjsip_sdp_rtp.so",
    "res_pjsip_dtmf_info.so",
    "res_pjsip_caller_id.so",
    "res_pjsip_rfc3326.so",  # Reason header: the hangup cause of a refused call
    "res_pjsip_nat.so",
    "res_pjsip_dlg_options.so",
    "res_pjsip_notify.so",  # NOTIFY to a phone (check-sync) or, in tests, to a SIP party
    "func_pjsip_endpoint.so",
    "res_rtp_asterisk.so",
)


@dataclass(frozen=True)
class AmiUser:
    name: str
    secret: str
    read: str
    write: str
    event_filter: str = ""  # a regex an event must match to be sent ("": every event)


ENGINE_READ = "call,agent,user,system"
ENGINE_WRITE = "originate,call,agent,user"
# The engine listens to queue and agent events, hangups and the dialplan's fallback and
# callback events; every other event (several per call) would only cost CPU during a burst.
# The names end at the line's end (`\s`: the CR): "Hangup" does not let HangupRequest
# through, nor "AgentConnect" AgentCalled (about one event in six of a queue burst).
ENGINE_EVENTS = (
    r"(Event: (QueueCaller(Join|Leave|Abandon)|QueueMember[A-Za-z]*|QueueEntry"
    r"|Agent(Connect|RingNoAnswer|Complete)|Hangup|OriginateResponse"
    r"|FullyBooted|Shutdown|Reload)\s|UserEvent: Ivr(Fallback|Route|SelfService|Callback))"
)
# Sandbox-only user for test calls: reads AGI events to know when a menu waits for DTMF.
TESTER_READ = "call,agent,user,system,agi,dialplan"
TESTER_WRITE = "originate,call,agent,user,system,command"


# IVR_AGI: where the dialplan reaches the engines' FastAGI, a URL base the route names follow
# (`AGI(${IVR_AGI}/inbound,...)`): one engine `agi://host:port`, several `hagi://<name>`
# (Asterisk looks up the SRV records `_agi._tcp.<name>` and connects to the next one when a
# target refuses or does not accept within 2 s; a port in a hagi:// URL disables the lookup).
AGI_URL = re.compile(r"(agi://[A-Za-z0-9.\[\]:-]+|hagi://[A-Za-z0-9.-]+)")


def agi_url(value: str) -> str:
    """`value` checked as an IVR_AGI URL base (no route, no arguments); ValueError says why."""
    if not AGI_URL.fullmatch(value):
        raise ValueError(
            f"FastAGI URL {value!r}: expected agi://host[:port] (one engine) or "
            "hagi://name (engines behind the SRV records _agi._tcp.name), no path"
        )
    return value


@dataclass(frozen=True)
class AsteriskSettings:
    ami_port: int = 5038
    ami_bind: str = "127.0.0.1"
    ami_permit: str = "127.0.0.1/255.255.255.255"  # the only network AMI users log in from
    agi_url: str = "agi://127.0.0.1:4573"
    agi_deadline: int = 300
    fallback_prompt: str = "pls-hold-while-try"
    # fallback_route.py processes at once (each ~0.5 s of CPU: about one per core); in a
    # burst with the engine down, callers beyond wait up to 3 s for one, then go on without
    fallback_scripts: int = 2


def _asterisk_conf() -> str:
    return """[directories](!)
astetcdir => /etc/asterisk
astmoddir => /usr/lib/x86_64-linux-gnu/asterisk/modules
astvarlibdir => /var/lib/asterisk
astdbdir => /var/lib/asterisk
astkeydir => /var/lib/asterisk
astdatadir => /usr/share/asterisk
astagidir => /usr/share/asterisk/agi-bin
astspooldir => /var/spool/asterisk
astrundir => /var/run/asterisk
astlogdir => /var/log/asterisk
astsbindir => /usr/sbin

[options]
verbose = 0
debug = 0
maxfiles = 65536
defaultlanguage = en
documentation_language = en_US
"""


def _modules_conf() -> str:
    loads = "\n".join(f"load = {name}" for name in MODULES)
    return f"[modules]\nautoload = no\n{loads}\n"


def _manager_conf(settings: AsteriskSettings, users: tuple[AmiUser, ...]) -> str:
    out = [
        "[general]",
        "enabled = yes",
        f"port = {settings.ami_port}",
        f"bindaddr = {settings.ami_bind}",
        "displayconnects = no",
        "",
    ]
    for user in users:
        out += [
            f"[{user.name}]",
            f"secret = {user.secret}",
            "deny = 0.0.0.0/0.0.0.0",
            f"permit = {settings.ami_permit}",
            f"read = {user.read}",
            f"write = {user.write}",
            "writetimeout = 5000",
            *([f"eventfilter = {user.event_filter}"] if user.event_filter else []),
            "",
        ]
    return "\n".join(out)


def _extensions_conf(
    settings: AsteriskSettings, queues: QueuesConfig, includes: tuple[str, ...]
) -> str:
    lines = [
        "[general]",
        "static = yes",
        "writeprotect = yes",
        "clearglobalvars = yes",
        "",
        "[globals]",
        f"IVR_AGI={agi_url(settings.agi_url)}",
        f"IVR_AGI_DEADLINE={settings.agi_deadline}",
        f"IVR_FALLBACK_QUEUE={queues.fallback_queue}",
        f"IVR_FALLBACK_PROMPT={settings.fallback_prompt}",
        f"IVR_FALLBACK_SCRIPTS={settings.fallback_scripts}",
        f"IVR_RECORDINGS={queues.recordings.directory}",
        "",
    ]
    lines += [f'#include "{name}"' for name in includes]
    return "\n".join(lines) + "\n"


# Core configs the engine does not use: present and empty so Asterisk boots quietly.
QUIET_EMPTY_CONFS = ("cel.conf", "features.conf", "acl.conf", "udptl.conf", "ccss.conf")

INDICATIONS_CONF = """[general]
country = us
[us]
description = United States
ringcadence = 2000,4000
dial = 350+440
ring = 440+480/2000,0/4000
busy = 480+620/500,0/500
congestion = 480+620/250,0/250
"""

# queue_log: app_queue's events and the engine's own (AMI QueueLog), one file.
LOGGER_CONF = """[general]
dateformat = %F %T.%3q
queue_log = yes
queue_log_to_file = yes
queue_log_name = queue_log
[logfiles]
console => notice,warning,error
messages.log => notice,warning,error,verbose(2)
"""

# pjproject's own log lines go to Asterisk's log at these levels.
PJPROJECT_CONF = """[startup]
log_level = default
[log_mappings]
type = log_mappings
asterisk_error = 0
asterisk_warning = 2
asterisk_debug = 3,4,5
"""

MUSICONHOLD_CONF = """[default]
mode = files
directory = moh
"""


def render_asterisk_config(
    settings: AsteriskSettings,
    queues: QueuesConfig,
    users: tuple[AmiUser, ...],
    *,
    sandbox: bool,
    telephony: TelephonyConfig | None = None,
    sip_secrets: Mapping[str, str] | None = None,
) -> Mapping[str, str]:
    """All files for /etc/asterisk, by relative path. `sandbox` adds the test contexts;
    `telephony` adds pjsip.conf, its passwords (AUTH_FILE, unless `sip_secrets` is None), rtp.conf
    and the trunks' dialplan."""
    dialplan_files = {f"ivr/{p.name}": p.read_text(encoding="utf-8") for p in _dialplans(sandbox)}
    sip: dict[str, str] = {}
    if telephony is not None:
        dialplan_files[TELEPHONY_DIALPLAN] = render_trunk_dialplan(telephony)
        sip = {
            "pjsip.conf": render_pjsip_conf(telephony),
            "rtp.conf": render_rtp_conf(telephony),
            "pjproject.conf": PJPROJECT_CONF,
            "pjsip_notify.conf": "; NOTIFY bodies for `pjsip send notify` (none yet)\n",
        }
        if sip_secrets is not None:  # None: an image's config, passwords mounted later
            sip[AUTH_FILE] = render_pjsip_auth_conf(telephony, sip_secrets)
    files = {
        "asterisk.conf": _asterisk_conf(),
        "modules.conf": _modules_conf(),
        "manager.conf": _manager_conf(settings, users),
        "extensions.conf": _extensions_conf(settings, queues, tuple(dialplan_files)),
        "queues.conf": render_queues_conf(queues),
        "logger.conf": LOGGER_CONF,
        "musiconhold.conf": MUSICONHOLD_CONF,
        "cdr.conf": "[general]\nenable = no\n",
        "indications.conf": INDICATIONS_CONF,
        **{name: "" for name in QUIET_EMPTY_CONFS},
        **sip,
    }
    return {**files, **dialplan_files}


def _dialplans(sandbox: bool) -> list[Path]:
    found = sorted(DIALPLANS_DIR.glob("*.conf"))
    if sandbox:
        found += sorted((DIALPLANS_DIR / "sandbox").glob("*.conf"))
    return found
