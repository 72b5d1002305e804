"""API tokens: the token list's entries (hashes only, agent tokens bound to one agent), the
token file, and `ivr token new` / `ivr token hash`."""

import hashlib
import io
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.config import ConfigError, load_settings
from ivr.web.tokens import (
    Principal,
    hash_token,
    load_tokens,
    mint_token,
    parse_entry,
    token_entry,
)

HEX = hashlib.sha256(b"agent-1001-token").hexdigest()


def test_entries_name_a_role_and_an_agent_tokens_agent() -> None:
    assert parse_entry(f"agent:1001:sha256:{HEX}").principal == Principal("agent", "1001")
    assert parse_entry(f"supervisor:sha256:{HEX}").principal == Principal("supervisor")
    assert parse_entry(f"admin:sha256:{HEX}").digest == bytes.fromhex(HEX)


def test_a_principal_says_which_token_it_is_by_its_hash_prefix() -> None:
    """For logs (the supervision log): the role and the hash's first digits, which an
    admin finds in the token list; equality ignores them."""
    supervisor = parse_entry(f"supervisor:sha256:{HEX}").principal
    assert supervisor.who() == f"supervisor sha256:{HEX[:8]}"
    assert parse_entry(f"agent:1001:sha256:{HEX}").principal.who() == f"agent 1001 sha256:{HEX[:8]}"
    assert Principal("admin").who() == "admin"


def test_a_token_is_found_by_its_hash_only() -> None:
    book = load_tokens(
        f"agent:1001:sha256:{HEX}, agent:1002:sha256:{hash_token('b' * 40)},"
        f"admin:sha256:{hash_token('a' * 40)}"
    )
    assert len(book) == 3
    assert book.find("agent-1001-token") == Principal("agent", "1001")
    assert book.find("b" * 40) == Principal("agent", "1002")
    assert book.find("a" * 40) == Principal("admin")
    for wrong in ("agent-1001-token ", "agent-1001-toke", HEX, "", "ä" * 40, "\udcff"):
        assert book.find(wrong) is None, wrong


def test_an_agent_may_act_for_himself_and_a_supervisor_for_anyone() -> None:
    agent, supervisor = Principal("agent", "1001"), Principal("supervisor")
    assert agent.may_act_for("1001") and not agent.may_act_for("1002")
    assert not agent.may_act_for("10011") and not agent.may_act_for("")
    assert supervisor.may_act_for("1002") and Principal("admin").may_act_for("x")


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        (
            "agent:agent-token-0123456789",
            "an agent token is bound to one agent: write agent:<agent id>:sha256:<hex>",
        ),
        (f"agent:sha256:{HEX}", "an agent token is bound to one agent"),
        (
            "agent:1001:agent-token-0123456789",
            "plaintext tokens are not accepted: write agent:1001:sha256:<hex>",
        ),
        (
            "supervisor:supervisor-token-0123",
            "plaintext tokens are not accepted: write supervisor:sha256:<hex>",
        ),
        (
            f"supervisor:1001:sha256:{HEX}",
            "only agent tokens name an agent: write supervisor:sha256:<hex>",
        ),
        (
            f"root:sha256:{HEX}",
            "the role must be one of admin, supervisor, agent (expected admin:sha256:<hex>, ",
        ),
        (f"agent:10 01:sha256:{HEX}", "agent '10 01': an agent id is letters, digits"),
        (f"admin:md5:{HEX}", "plaintext tokens are not accepted"),
        ("admin:sha256:abc", "expected 64 lowercase hex digits"),
        (f"admin:sha256:{HEX.upper()}", "expected 64 lowercase hex digits"),
        (f"admin:sha256:{HEX}:x", "expected 64 lowercase hex digits"),
    ],
)
def test_a_malformed_entry_is_refused_with_how_to_write_it(entry: str, error: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_tokens(f"admin:sha256:{HEX[::-1]},{entry}")
    message = str(refused.value)
    assert message.startswith(f"api_tokens: item 2: {error}")
    assert "\n" not in message
    assert "token-0123" not in message  # a plaintext token is never echoed


def test_the_same_token_twice_is_refused() -> None:
    twice = "^api_tokens: item 2: the same token as api_tokens: item 1$"
    with pytest.raises(ConfigError, match=twice):
        load_tokens(f"agent:1001:sha256:{HEX},agent:1002:sha256:{HEX}")


def token_file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "api-tokens"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_the_token_file_adds_one_entry_a_line(tmp_path: Path) -> None:
    other = hash_token("s" * 40)
    lines = f"# desks\n\nagent:1001:sha256:{HEX}\n  supervisor:sha256:{other}\n"
    path = token_file(tmp_path, lines)
    book = load_tokens(f"admin:sha256:{hash_token('a' * 40)}", str(path))
    assert len(book) == 3
    assert book.find("agent-1001-token") == Principal("agent", "1001")
    assert book.find("s" * 40) == Principal("supervisor")
    assert len(load_tokens("", str(token_file(tmp_path, "")))) == 0


def test_a_bad_token_file_line_is_named_file_line_col(tmp_path: Path) -> None:
    path = token_file(tmp_path, f"agent:1001:sha256:{HEX}\n\n   agent:s3cr3t-token-value\n")
    with pytest.raises(ConfigError) as refused:
        load_tokens("", str(path))
    assert str(refused.value).startswith(f"{path}:3:4: api_tokens_file: an agent token is bound")
    assert "s3cr3t" not in str(refused.value)
    twice = token_file(tmp_path, f"agent:1001:sha256:{HEX}\n")
    again = f"{twice}:1:1: api_tokens_file: the same token as api_tokens: item 1"
    with pytest.raises(ConfigError, match=again):
        load_tokens(f"agent:1001:sha256:{HEX}", str(twice))


def test_a_token_file_others_may_write_or_that_is_missing_is_refused(tmp_path: Path) -> None:
    for mode in (0o620, 0o602, 0o666):
        path = token_file(tmp_path, f"agent:1001:sha256:{HEX}\n", mode)
        with pytest.raises(ConfigError, match=f"writable by group or others.*chmod 600 {path}"):
            load_tokens("", str(path))
    assert len(load_tokens("", str(token_file(tmp_path, f"admin:sha256:{HEX}\n", 0o640)))) == 1
    with pytest.raises(ConfigError, match="api_tokens_file: cannot read it: No such file"):
        load_tokens("", str(tmp_path / "missing"))
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe")
    binary.chmod(0o600)
    with pytest.raises(ConfigError, match="cannot read it: not UTF-8 text"):
        load_tokens("", str(binary))


def test_the_token_file_is_a_setting_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(env={"IVR_API_TOKENS_FILE": "/etc/ivr/api-tokens"})
    assert settings.api_tokens_file == "/etc/ivr/api-tokens"


def test_minted_tokens_are_long_random_and_their_entry_works() -> None:
    tokens = {mint_token() for _ in range(50)}
    assert len(tokens) == 50
    assert all(t.startswith("ivr_") and len(t) >= 46 for t in tokens)
    token = tokens.pop()
    entry = token_entry(Principal("agent", "1001"), token)
    assert entry == f"agent:1001:sha256:{hashlib.sha256(token.encode()).hexdigest()}"
    assert load_tokens(entry).find(token) == Principal("agent", "1001")


def test_ivr_token_new_prints_the_token_once_and_its_entry(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["token", "new", "--role", "agent", "--agent", "1001"]) == 0
    out = capsys.readouterr()
    token_line, entry_line = out.out.splitlines()
    token = token_line.removeprefix("token: ")
    entry = entry_line.removeprefix("entry: ")
    assert entry.startswith("agent:1001:sha256:") and token not in entry
    assert load_tokens(entry).find(token) == Principal("agent", "1001")
    assert "IVR_API_TOKENS_FILE" in out.err
    assert main(["token", "new", "--role", "supervisor"]) == 0
    assert "entry: supervisor:sha256:" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (
            ["--role", "agent"],
            "ivr token: agent: an agent token is bound to one agent: give --agent ID",
        ),
        (
            ["--role", "admin", "--agent", "1001"],
            "ivr token: agent: only agent tokens name an agent",
        ),
        (["--role", "agent", "--agent", "10;01"], "ivr token: agent: an agent id is letters"),
    ],
)
def test_ivr_token_refuses_what_cannot_be_a_token(
    capsys: pytest.CaptureFixture[str], argv: list[str], error: str
) -> None:
    assert main(["token", "new", *argv]) == 2
    out = capsys.readouterr()
    assert out.err.startswith(error) and out.out == ""


def test_ivr_token_hash_reads_a_long_token_on_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "x" * 40
    monkeypatch.setattr("sys.stdin", io.StringIO(token + "\n"))
    assert main(["token", "hash", "--role", "agent", "--agent", "1002"]) == 0
    assert capsys.readouterr().out == f"entry: agent:1002:sha256:{hash_token(token)}\n"
    monkeypatch.setattr("sys.stdin", io.StringIO("short-token\n"))
    assert main(["token", "hash", "--role", "admin"]) == 2
    assert "expected a token of 32+ characters on stdin" in capsys.readouterr().err
