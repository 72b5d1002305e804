"""API tokens: who each one is (a role; for an agent, also his agent id), kept only as hashes.

The token list (the setting `api_tokens` / IVR_API_TOKENS, comma-separated, and the file
`api_tokens_file` / IVR_API_TOKENS_FILE, one a line) holds entries

    admin:sha256:<hex>      supervisor:sha256:<hex>      agent:<agent id>:sha256:<hex>

where <hex> is the SHA-256 of the token. `ivr token new` mints tokens of 32 random bytes:
nobody can try 2**256 candidates, so a fast hash is as safe as a slow one here (slow
hashes protect guessable secrets such as passwords). Plaintext tokens are refused: a
leaked configuration must not be usable as credentials. Tokens are compared in constant
time (hmac.compare_digest on the digests).
"""

import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ivr.config import ConfigError
from ivr.queues.validate import NAME as AGENT_ID

ROLES = ("admin", "supervisor", "agent")
SCHEME = "sha256"
TOKEN_PREFIX = "ivr_"  # minted tokens are recognisable (secret scanners, logs)
MIN_TOKEN = 32  # characters a token needs before `ivr token hash` takes it
MINT_BYTES = 32
KEY_DIGITS = 8  # hex digits of a token's hash that name it in logs (Principal.who)
FORMAT = "admin:sha256:<hex>, supervisor:sha256:<hex> or agent:<agent id>:sha256:<hex>"
MINT_HINT = "mint one with `ivr token new --role ROLE [--agent ID]`"


@dataclass(frozen=True)
class Principal:
    """Who a token speaks for."""

    role: str
    agent: str | None = None  # agent tokens only: the one agent they act for
    # The first hex digits of the token's SHA-256, as in the token list: which entry it is
    # (whom the admin gave it to), for logs such as the supervision log.
    key: str = field(default="", compare=False)

    def may_act_for(self, agent_id: str) -> bool:
        """Agents act only for themselves; supervisors and admins for any agent."""
        return self.role != "agent" or self.agent == agent_id

    def describe(self) -> str:
        return f"agent {self.agent}" if self.agent is not None else self.role

    def who(self) -> str:
        """The role (or agent) and which token: `supervisor sha256:3f2a9c1e`."""
        return f"{self.describe()} {SCHEME}:{self.key}" if self.key else self.describe()


@dataclass(frozen=True)
class Entry:
    digest: bytes  # SHA-256 of the token
    principal: Principal


@dataclass(frozen=True)
class TokenBook:
    """The known tokens, as hashes."""

    entries: tuple[Entry, ...] = ()

    def __len__(self) -> int:
        return len(self.entries)

    def find(self, given: str) -> Principal | None:
        """Whose token `given` is (None: nobody's); every entry is compared."""
        digest = _digest(given)
        found = None
        for entry in self.entries:
            if hmac.compare_digest(entry.digest, digest):
                found = entry.principal
        return found


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "backslashreplace")).digest()


def hash_token(token: str) -> str:
    return _digest(token).hex()


def mint_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(MINT_BYTES)


def token_entry(principal: Principal, token: str) -> str:
    """The line to put in the token list for `token`."""
    who = f"agent:{principal.agent}" if principal.role == "agent" else principal.role
    return f"{who}:{SCHEME}:{hash_token(token)}"


def principal_for(role: str, agent: str | None) -> Principal:
    """A role and agent id as given on the command line; ValueError says what is wrong."""
    if role not in ROLES:
        raise ValueError(f"role: expected one of {', '.join(ROLES)}, got {role!r}")
    if role == "agent":
        if not agent:
            raise ValueError("agent: an agent token is bound to one agent: give --agent ID")
        if not AGENT_ID.fullmatch(agent):
            raise ValueError(f"agent: an agent id is letters, digits, '_' or '-', got {agent!r}")
        return Principal(role, agent)
    if agent:
        raise ValueError(f"agent: only agent tokens name an agent, not {role} tokens")
    return Principal(role)


def parse_entry(text: str) -> Entry:
    """One entry of the token list; ValueError says what is wrong (never the token)."""
    role, _, rest = text.partition(":")
    if role not in ROLES:
        raise ValueError(f"the role must be one of {', '.join(ROLES)} (expected {FORMAT})")
    agent = None
    if role == "agent":
        agent, sep, rest = rest.partition(":")
        if not sep or agent == SCHEME:
            raise ValueError(
                "an agent token is bound to one agent: write agent:<agent id>:sha256:<hex> "
                "(mint one with `ivr token new --role agent --agent 1001`)"
            )
        if not AGENT_ID.fullmatch(agent):
            raise ValueError(f"agent {agent!r}: an agent id is letters, digits, '_' or '-'")
    scheme, _, digest = rest.partition(":")
    if scheme != SCHEME:
        if role != "agent" and f":{SCHEME}:" in f":{rest}":
            raise ValueError(f"only agent tokens name an agent: write {role}:sha256:<hex>")
        raise ValueError(
            f"plaintext tokens are not accepted: write {role}{'' if agent is None else ':' + agent}"
            f":sha256:<hex> ({MINT_HINT}, or hash an existing one with `ivr token hash`)"
        )
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError("expected 64 lowercase hex digits (a SHA-256) after sha256:")
    return Entry(bytes.fromhex(digest), Principal(role, agent, key=digest[:KEY_DIGITS]))


def parse_tokens(spec: str, source: str = "api_tokens") -> list[Entry]:
    """The entries of a comma-separated token list; ConfigError names the item."""
    entries = []
    items = (part.strip() for part in spec.split(","))
    for number, item in enumerate(filter(None, items), 1):
        try:
            entries.append(parse_entry(item))
        except ValueError as exc:
            raise ConfigError(f"{source}: item {number}: {exc}") from None
    return entries


def read_token_file(path: str | Path) -> list[tuple[str, Entry]]:
    """(where, entry) for each line of a token file (blank lines and # comments skipped).
    The file must not be writable by group or others: whoever can write it can add a
    token."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as file:
            mode = os.fstat(file.fileno()).st_mode
            text = file.read()
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"{path}: api_tokens_file: cannot read it: {why}") from None
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ConfigError(
            f"{path}: api_tokens_file: writable by group or others: "
            f"anyone who can write it can add a token (chmod 600 {path})"
        )
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        item = line.strip()
        if not item or item.startswith("#"):
            continue
        where = f"{path}:{number}:{len(line) - len(line.lstrip()) + 1}: api_tokens_file"
        try:
            entries.append((where, parse_entry(item)))
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return entries


def load_tokens(spec: str, file: str = "") -> TokenBook:
    """The token book from the setting and the token file (either may be empty)."""
    listed: list[tuple[str, Entry]] = [
        (f"api_tokens: item {n}", entry) for n, entry in enumerate(parse_tokens(spec), 1)
    ]
    if file:
        listed += read_token_file(file)
    return TokenBook(tuple(_unique(listed)))


def _unique(listed: Iterable[tuple[str, Entry]]) -> Iterable[Entry]:
    """Each token once: the same hash twice would be one token with two meanings."""
    seen: dict[bytes, str] = {}
    for where, entry in listed:
        if entry.digest in seen:
            raise ConfigError(f"{where}: the same token as {seen[entry.digest]}")
        seen[entry.digest] = where
        yield entry
