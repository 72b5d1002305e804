"""SIP passwords, kept outside git: phones' generated on first use, trunks' given by the
carrier (environment `IVR_SIP_SECRET_TRUNK_<NAME>` or the secrets file).

The secrets file holds `key = password` lines (`phone-1001`, `trunk-carrier`), mode 0600.
"""

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from ivr.telephony.pjsip_render import required_secrets
from ivr.telephony.sip_config import TelephonyConfig


class SipSecretsError(ValueError):
    """A trunk's password is nowhere to be found, or the secrets file is unreadable."""


def env_name(key: str) -> str:
    return "IVR_SIP_SECRET_" + key.upper().replace("-", "_")


def read_secrets_file(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    if not path.exists():
        return found
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise SipSecretsError(f"{path}:{number}: expected `key = password`")
        found[key.strip()] = value.strip()
    return found


def _valid(key: str, value: str) -> str:
    if any(ch in value for ch in "\r\n;\x00") or value != value.strip():
        raise SipSecretsError(
            f"the password {key} contains a line break, ';' or spaces at its ends"
        )
    return value


def sip_secrets(
    config: TelephonyConfig, path: Path, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Every password the config needs. Missing phone passwords are generated and saved
    in `path` (created with mode 0600); a missing trunk password is an error."""
    env = os.environ if env is None else env
    stored = read_secrets_file(path)
    phones, trunks = required_secrets(config)
    new = {key: secrets.token_urlsafe(18) for key in phones if key not in stored}
    if new:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.writelines(f"{key} = {value}\n" for key, value in new.items())
        path.chmod(0o600)
        stored.update(new)
    found = {key: stored[key] for key in phones}
    missing = []
    for key in trunks:
        value = env.get(env_name(key)) or stored.get(key)
        if value:
            found[key] = value
        else:
            missing.append(key)
    if missing:
        raise SipSecretsError(
            "no password for "
            + ", ".join(
                f"{key} (set {env_name(key)} or add `{key} = ...` to {path})" for key in missing
            )
        )
    return {key: _valid(key, value) for key, value in found.items()}
