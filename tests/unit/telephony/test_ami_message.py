"""Reading AMI messages: only CRLF ends a header, a repeated UserEvent header is refused."""

import pytest

from ivr.telephony.ami_message import parse_message

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
