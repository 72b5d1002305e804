"""Reading AMI messages: only CRLF ends a header, a repeated UserEvent header is refused."""

import pytest

from ivr.telephony.ami_message import AmiMessage, parse_message

SMUGGLERS = ["\r", "\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


def hangup(name: str) -> str:
    return "\r\n".join(
        [
            "Event: Hangup",
            "Uniqueid: 1700000000.1",
            "CallerIDNum: 380509999999",
            f"CallerIDName: {name}",
            "Cause: 16",
        ]
    )


@pytest.mark.parametrize("char", SMUGGLERS, ids=[f"U+{ord(c):04X}" for c in SMUGGLERS])
def test_a_separator_inside_a_value_stays_in_the_value(char: str) -> None:
    forged = f"Bob{char}CallerIDNum: 380441234567{char}Uniqueid: 1.999"
    message = parse_message(hangup(forged))
    assert message is not None
    assert message["CallerIDNum"] == "380509999999"
    assert message["Uniqueid"] == "1700000000.1"
    assert message["CallerIDName"] == forged
    assert message["Cause"] == "16"


def test_a_repeated_header_in_a_user_event_refuses_it() -> None:
    # What `UserEvent(IvrCallbackAccepted,...,Phone: ${CALLERID(num)})` gave for a caller
    # ID `380441234567,Phone:380990000000` before the dialplan encoded it.
    text = "\r\n".join(
        [
            "Event: UserEvent",
            "Uniqueid: 1700000000.1",
            "UserEvent: IvrCallbackAccepted",
            "Phone: 380441234567",
            "Phone: 380990000000",
        ]
    )
    assert parse_message(text) is None


def test_repeated_headers_of_other_messages_are_kept_as_a_list() -> None:
    text = "Response: Success\r\nOutput: line 1\r\nOutput: line 2\r\nActionID: a1"
    message = parse_message(text)
    assert message is not None
    assert message["Output"] == ["line 1", "line 2"]
    assert message["ActionID"] == "a1"


@pytest.mark.parametrize(
    "line", ["no colon here", "Bad Key: x", ": empty key", "K\x1cey: x", f"{'K' * 81}: long"]
)
def test_a_line_without_a_well_formed_key_is_dropped(line: str) -> None:
    message = parse_message(f"Event: Hangup\r\n{line}\r\nUniqueid: 1.1")
    assert message is not None
    assert {k: v for k, v in message.items() if k != "content"} == {
        "Event": "Hangup",
        "Uniqueid": "1.1",
    }


def test_text_that_is_neither_event_nor_response_is_no_message() -> None:
    assert parse_message("Uniqueid: 1.1\r\nCallerIDNum: 1") is None


def test_legacy_command_output_is_the_body() -> None:
    message = parse_message("Response: Follows\r\nPrivilege: Command\r\ncore output\r\n")
    assert message is not None
    assert message.content == "core output"


def test_keys_are_read_in_any_case_and_content_is_kept() -> None:
    message = parse_message("Response: Follows\r\nActionID: a1\r\nPrivilege: Command\r\nout\r\n")
    assert message is not None
    assert message.get("actionid") == message["ACTIONID"] == message.action_id == "a1"
    assert "privilege" in message and "Uniqueid" not in message
    assert message.get("Uniqueid", "none") == "none"
    assert message.content == "out"
    assert sorted(message) == ["ActionID", "Privilege", "Response", "content"]


def test_a_header_repeated_in_another_case_refuses_a_user_event() -> None:
    text = "Event: UserEvent\r\nUserEvent: IvrFallback\r\nQueue: a\r\nQUEUE: b"
    assert parse_message(text) is None
    output = parse_message("Response: Success\r\nOutput: 1\r\noutput: 2")
    assert output is not None and output["Output"] == ["1", "2"]


def test_a_message_built_from_headers_reads_like_a_parsed_one() -> None:
    built = AmiMessage({"Event": "Hangup", "Uniqueid": "1.1"})
    parsed = parse_message("Event: Hangup\r\nUniqueid: 1.1")
    assert parsed is not None
    assert dict(built.items()) == dict(parsed.items())
    assert built.get("event") == "Hangup" and built.content == ""
