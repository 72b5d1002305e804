"""Engine settings: a YAML file, then environment overrides (IVR_*)."""

import math
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# One sandbox per machine: every checkout (and CI's clean clone) reuses the chroot and
# reconfigures the running Asterisk instead of fighting over its ports.
DEFAULT_SANDBOX_DIR = Path("/var/lib/ivr/sandbox")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_user: str = "ivr-engine"
    ami_secret: str = field(default="", repr=False)
    ami_secret_file: str = ""  # default: the sandbox's secret for ami_user
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'ivr.db'}"
    # The engine's own files: dead letters the database would not take either
    # (dead_letters.jsonl, see ivr.storage.dead_letters).
    var_dir: str = str(PROJECT_ROOT / "var")
    # The storage outbox (ivr/storage/spool.py): events on disk until the database holds
    # them; "" = <var_dir>/outbox. At most outbox_max_bytes per writer (then new events
    # are dropped and counted); fsync every outbox_fsync_interval seconds (0: every event).
    outbox_dir: str = ""
    outbox_max_bytes: int = 64 * 1024 * 1024
    outbox_fsync_interval: float = 0.2
    flows_dir: str = str(PROJECT_ROOT / "flows")
    queues_file: str = str(PROJECT_ROOT / "queues.yaml")
    agi_command_timeout: float = 30.0
    sandbox_dir: str = str(DEFAULT_SANDBOX_DIR)
    # Spoken prompts (`say:`): the directory Asterisk plays them from (an absolute path as
    # Asterisk sees it), and where the engine writes them (default: that directory inside
    # the sandbox; on a production host usually the same path as the prefix).
    prompt_sound_prefix: str = "/var/lib/asterisk/sounds/ivr-tts"
    prompt_cache_dir: str = ""
    # Call recordings (queues.yaml `recordings.directory`, a path as Asterisk sees it): where
    # the engine reads and expires them; "" = that directory inside the sandbox.
    recordings_dir: str = ""
    flows_poll_interval: float = 1.0  # seconds between checks of flows/ for changes
    # Caller IDs in national form (0441234567) are looked up as international
    # (380441234567) with this country code; "" compares digits as they come.
    phone_country_code: str = ""
    # Where the engine writes the queues.conf it renders from queues.yaml (then QueueReload
    # over AMI), at start and on every valid change of queues.yaml; "" = do not write it
    # (Asterisk on another host: use `ivr queues render` and your own deployment).
    asterisk_config_dir: str = ""
    # API tokens, as hashes (ivr/web/tokens.py): "admin:sha256:<hex>",
    # "supervisor:sha256:<hex>", "agent:<agent id>:sha256:<hex>", separated by commas here
    # and one a line in api_tokens_file (a file outside git, mode 600); both are read.
    api_tokens: str = field(default="", repr=False)
    api_tokens_file: str = ""
    # What one HTTP client may hold (slow or hostile clients must not crowd out the rest):
    http_header_timeout: float = 10.0  # seconds to send the request head after connecting
    http_keepalive_timeout: float = 15.0  # seconds an idle keep-alive connection stays open
    http_body_timeout: float = 30.0  # seconds to send a request body
    http_max_body_bytes: int = 1024 * 1024
    http_max_connections: int = 1000  # lowered at start to fit the file-descriptor budget
    http_max_streams: int = 200  # live streams (/api/live, agent events); at most half the above
    # File descriptors kept for FastAGI calls, AMI, the database and prompt files; HTTP gets
    # the rest of the open-files limit. 0 = half the limit, at least 256.
    fd_reserve: int = 0
    # The database (seconds): a call's read (caller, outage) before the call goes on without
    # it, an API request before 503, PostgreSQL's statement_timeout (0: none), the wait for a
    # pooled connection, and how often /health's database state is checked.
    db_call_timeout: float = 1.5
    db_api_timeout: float = 5.0
    db_statement_timeout: float = 15.0
    db_pool_timeout: float = 5.0
    db_probe_interval: float = 5.0
    # Several engines (PostgreSQL only): all serve menus; one at a time owns the live actions
    # on the Asterisk (answer-target ladder, talk marks, callbacks, agent sync), through a
    # lease in the database renewed every lease_renew s and lost after lease_ttl s without
    # the database. asterisk_name names the Asterisk in the database; engine_id names this
    # engine ("" = host:pid).
    asterisk_name: str = "asterisk"
    # Several Asterisk servers: "name=host:port" each, separated by spaces or commas (the
    # AMI user is ami_user on each; an ami_secret_file with "{asterisk}" in its path names
    # one secret file per server). "" = one Asterisk, asterisk_name at ami_host:ami_port.
    asterisks: str = ""
    engine_id: str = ""
    lease_ttl: float = 3.0
    lease_renew: float = 1.0
    # The predicted wait's handle time: each queue's mean talk over the calls answered in
    # the last handle_time_window s, read every handle_time_refresh s.
    handle_time_window: float = 3600.0
    handle_time_refresh: float = 60.0

    def asterisk_servers(self) -> tuple["AsteriskServer", ...]:
        """The Asterisk servers this engine works with, each with its AMI endpoint."""
        if not self.asterisks.strip():
            return (AsteriskServer(self.asterisk_name, self.ami_host, self.ami_port),)
        return parse_asterisks(self.asterisks, "asterisks")

    def resolved_engine_id(self) -> str:
        return self.engine_id or f"{socket.gethostname()}:{os.getpid()}"

    def resolved_outbox_dir(self) -> Path:
        return Path(self.outbox_dir or Path(self.var_dir) / "outbox")

    def resolved_prompt_cache_dir(self) -> Path:
        if self.prompt_cache_dir:
            return Path(self.prompt_cache_dir)
        return Path(self.sandbox_dir) / "root" / self.prompt_sound_prefix.lstrip("/")

    def resolved_recordings_dir(self, asterisk_path: str) -> Path:
        if self.recordings_dir:
            return Path(self.recordings_dir)
        return Path(self.sandbox_dir) / "root" / asterisk_path.lstrip("/")

    def resolved_ami_secret(self, asterisk: str = "") -> str:
        """The AMI secret: given directly, or read from ami_secret_file (its "{asterisk}"
        replaced by the server's name)."""
        if self.ami_secret:
            return self.ami_secret
        named = self.ami_secret_file.replace("{asterisk}", asterisk or self.asterisk_name)
        path = Path(named or sandbox_secret_file(self.sandbox_dir, self.ami_user))
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"AMI secret: set IVR_AMI_SECRET or IVR_AMI_SECRET_FILE "
                f"(cannot read {path}: {exc.strerror})"
            ) from exc


@dataclass(frozen=True)
class AsteriskServer:
    """One Asterisk the engine works with: its name (in the database) and AMI endpoint."""

    name: str
    ami_host: str
    ami_port: int


_ASTERISK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def parse_asterisks(text: str, source: str) -> tuple[AsteriskServer, ...]:
    """ "ast1=10.0.0.1:5038 ast2=10.0.0.2:5038" -> the servers; a clear error otherwise."""
    servers: list[AsteriskServer] = []
    for entry in text.replace(",", " ").split():
        name, sep, endpoint = entry.partition("=")
        if not sep or not _ASTERISK_NAME.fullmatch(name):
            raise ConfigError(f"{source}: expected name=host:port, got {entry!r}")
        host, port = _split_bind(endpoint, source)
        if any(server.name == name for server in servers):
            raise ConfigError(f"{source}: Asterisk {name!r} is listed twice")
        servers.append(AsteriskServer(name, host, port))
    if not servers:
        raise ConfigError(f"{source}: no Asterisk listed")
    return tuple(servers)


def sandbox_secret_file(sandbox_dir: str | Path, user: str) -> Path:
    return Path(sandbox_dir) / "secrets" / f"{user}.secret"


# Environment variable -> setting. *_BIND variables take "host:port".
ENV_SETTINGS: Mapping[str, str] = {
    "IVR_AMI_HOST": "ami_host",
    "IVR_AMI_PORT": "ami_port",
    "IVR_AMI_USER": "ami_user",
    "IVR_AMI_SECRET": "ami_secret",
    "IVR_AMI_SECRET_FILE": "ami_secret_file",
    "IVR_DATABASE_URL": "database_url",
    "IVR_VAR_DIR": "var_dir",
    "IVR_OUTBOX_DIR": "outbox_dir",
    "IVR_OUTBOX_MAX_BYTES": "outbox_max_bytes",
    "IVR_OUTBOX_FSYNC_INTERVAL": "outbox_fsync_interval",
    "IVR_FLOWS_DIR": "flows_dir",
    "IVR_QUEUES_FILE": "queues_file",
    "IVR_SANDBOX_DIR": "sandbox_dir",
    "IVR_PROMPT_CACHE_DIR": "prompt_cache_dir",
    "IVR_PROMPT_SOUND_PREFIX": "prompt_sound_prefix",
    "IVR_RECORDINGS_DIR": "recordings_dir",
    "IVR_PHONE_COUNTRY_CODE": "phone_country_code",
    "IVR_ASTERISK_CONFIG_DIR": "asterisk_config_dir",
    "IVR_API_TOKENS": "api_tokens",
    "IVR_API_TOKENS_FILE": "api_tokens_file",
    "IVR_HTTP_HEADER_TIMEOUT": "http_header_timeout",
    "IVR_HTTP_KEEPALIVE_TIMEOUT": "http_keepalive_timeout",
    "IVR_HTTP_BODY_TIMEOUT": "http_body_timeout",
    "IVR_HTTP_MAX_BODY_BYTES": "http_max_body_bytes",
    "IVR_HTTP_MAX_CONNECTIONS": "http_max_connections",
    "IVR_HTTP_MAX_STREAMS": "http_max_streams",
    "IVR_FD_RESERVE": "fd_reserve",
    "IVR_DB_CALL_TIMEOUT": "db_call_timeout",
    "IVR_DB_API_TIMEOUT": "db_api_timeout",
    "IVR_DB_STATEMENT_TIMEOUT": "db_statement_timeout",
    "IVR_DB_POOL_TIMEOUT": "db_pool_timeout",
    "IVR_DB_PROBE_INTERVAL": "db_probe_interval",
    "IVR_ASTERISK_NAME": "asterisk_name",
    "IVR_ASTERISKS": "asterisks",
    "IVR_ENGINE_ID": "engine_id",
    "IVR_LEASE_TTL": "lease_ttl",
    "IVR_LEASE_RENEW": "lease_renew",
    "IVR_HANDLE_TIME_WINDOW": "handle_time_window",
    "IVR_HANDLE_TIME_REFRESH": "handle_time_refresh",
}
# Settings that must be above zero (fd_reserve: zero or more).
POSITIVE = (
    "http_header_timeout",
    "http_keepalive_timeout",
    "http_body_timeout",
    "http_max_body_bytes",
    "http_max_connections",
    "http_max_streams",
    "outbox_max_bytes",
    "db_call_timeout",
    "db_api_timeout",
    "db_pool_timeout",
    "db_probe_interval",
    "lease_ttl",
    "lease_renew",
    "handle_time_window",
    "handle_time_refresh",
)
ENV_BINDS: Mapping[str, tuple[str, str]] = {
    "IVR_AGI_BIND": ("agi_host", "agi_port"),
    "IVR_HTTP_BIND": ("http_host", "http_port"),
}


def _coerce(name: str, value: Any, source: str) -> Any:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    if kind is int:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{source}: {name} must be a whole number, got {value!r}") from None
    if kind is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{source}: {name} must be a number, got {value!r}") from None
    if not isinstance(value, str):
        raise ConfigError(f"{source}: {name} must be text, got {value!r}")
    return value


def _check_range(name: str, value: Any, source: str) -> None:
    if name in POSITIVE and not (value > 0 and math.isfinite(value)):
        raise ConfigError(f"{source}: {name} must be a finite number above 0, got {value!r}")
    if name == "outbox_fsync_interval" and not (value >= 0 and math.isfinite(value)):
        raise ConfigError(f"{source}: {name} must be 0 (every event) or more, got {value!r}")
    if name == "db_statement_timeout" and not (value >= 0 and math.isfinite(value)):
        raise ConfigError(f"{source}: {name} must be 0 (none) or more seconds, got {value!r}")
    if name == "asterisk_name" and not _ASTERISK_NAME.fullmatch(value):
        raise ConfigError(f"{source}: {name} must be a name (letters, digits, _ . -)")
    if name == "asterisks" and value.strip():
        parse_asterisks(value, source)
    if name == "fd_reserve" and value < 0:
        raise ConfigError(f"{source}: {name} must be 0 (automatic) or more, got {value!r}")


def _split_bind(value: str, source: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"{source}: expected host:port, got {value!r}")
    return host, int(port)


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from `path` (YAML mapping of setting names), then IVR_* variables."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    path = path or env.get("IVR_CONFIG")
    if path:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of settings")
        known = {f.name for f in fields(Settings)}
        for key, value in data.items():
            if key not in known:
                raise ConfigError(f"{path}: unknown setting {key!r} (known: {sorted(known)})")
            values[key] = _coerce(key, value, str(path))
            _check_range(key, values[key], str(path))
    for var, name in ENV_SETTINGS.items():
        if var in env:
            values[name] = _coerce(name, env[var], var)
            _check_range(name, values[name], var)
    for var, (host_name, port_name) in ENV_BINDS.items():
        if var in env:
            values[host_name], values[port_name] = _split_bind(env[var], var)
    settings = replace(Settings(), **values)
    if settings.lease_renew >= settings.lease_ttl:
        raise ConfigError(
            f"lease_renew ({settings.lease_renew:g} s) must be below lease_ttl "
            f"({settings.lease_ttl:g} s): the lease would run out between renewals"
        )
    return settings
