"""Hostile caller IDs through the encoders, checked against models of Asterisk's parsers."""

import pytest

from ivr.telephony.encoding import (
    UnsafeValue,
    agi_exec_args,
    agi_quote,
    ami_header,
    ami_variable,
)

CYRILLIC = 'Иванов, Пётр "Ген"'
HUNGARIAN = "Árvíztűrő Tükörfúrógép Őrs"
LINE_BREAKERS = ["a\nb", "a\r\nb", "a\rb", "a\0b", "\n", "Иванов\r\nAction: Hangup"]
HOSTILE = [
    'say "hi"',
    "back\\slash",
    "trailing\\",
    "a,b,c",
    "(unbalanced",
    "close) [bracket",
    CYRILLIC,
    HUNGARIAN,
    "tab\there  spaces",
    "",
]


def res_agi_parse_args(line: str) -> list[str]:
    """Model of res_agi.c parse_args: blanks split words, `"` groups, `\\` escapes."""
    words: list[list[str]] = []
    quoted = escaped = False
    whitespace = True
    for char in line:
        if char == '"' and not escaped:
            quoted = not quoted
            if quoted and whitespace:
                words.append([])
                whitespace = False
        elif char in " \t" and not quoted and not escaped:
            whitespace = True
        elif char == "\\" and not escaped:
            escaped = True
        else:
            if whitespace:
                words.append([])
                whitespace = False
            words[-1].append(char)
            escaped = False
    return ["".join(word) for word in words]


def app_separate_args(text: str) -> list[str]:
    """Model of __ast_app_separate_args(buf, ',', remove_chars=1)."""
    args: list[str] = []
    current: list[str] = []
    paren = bracket = 0
    quote = False
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 1
            current.append(text[index : index + 1])
        elif char == '"':
            quote = not quote
        elif char == "," and not (paren or bracket or quote):
            args.append("".join(current))
            current = []
        else:
            paren += {"(": 1, ")": -1 if paren else 0}.get(char, 0)
            bracket += {"[": 1, "]": -1 if bracket else 0}.get(char, 0)
            current.append(char)
        index += 1
    args.append("".join(current))
    return args


class TestAgiQuote:
    @pytest.mark.parametrize(
        ("value", "encoded"),
        [
            ("plain", '"plain"'),
            ('say "hi"', '"say \\"hi\\""'),
            ("back\\slash", '"back\\\\slash"'),
            (CYRILLIC, '"Иванов, Пётр \\"Ген\\""'),
            (HUNGARIAN, f'"{HUNGARIAN}"'),
            ("${SHELL(rm -rf /)}", '"${SHELL(rm -rf /)}"'),  # SET VARIABLE does not evaluate
            ("", '""'),
        ],
    )
    def test_exact_text(self, value: str, encoded: str) -> None:
        assert agi_quote(value) == encoded

    @pytest.mark.parametrize("value", HOSTILE)
    def test_asterisk_reads_back_one_word(self, value: str) -> None:
        line = f"SET VARIABLE CALLERNAME {agi_quote(value)}"
        assert res_agi_parse_args(line) == ["SET", "VARIABLE", "CALLERNAME", value]

    @pytest.mark.parametrize("value", LINE_BREAKERS)
    def test_line_breakers_refused(self, value: str) -> None:
        with pytest.raises(UnsafeValue, match="CR, LF and NUL"):
            agi_quote(value)


class TestAgiExecArgs:
    def test_cyrillic_name_with_comma_and_quotes(self) -> None:
        assert agi_exec_args(CYRILLIC) == '"Иванов\\\\, Пётр \\\\\\"Ген\\\\\\""'

    def test_arguments_joined_with_commas(self) -> None:
        assert agi_exec_args("IvrRoute", "Queue: a,b") == '"IvrRoute,Queue: a\\\\,b"'

    def test_parentheses_cannot_swallow_the_separator(self) -> None:
        assert agi_exec_args("(", "x") == '"\\\\(,x"'

    @pytest.mark.parametrize("value", HOSTILE)
    def test_application_reads_back_each_argument(self, value: str) -> None:
        words = res_agi_parse_args(f"EXEC UserEvent {agi_exec_args('Ivr', value, 'tail')}")
        assert words[:2] == ["EXEC", "UserEvent"]
        assert len(words) == 3
        assert app_separate_args(words[2]) == ["Ivr", value, "tail"]

    @pytest.mark.parametrize(
        "value",
        ["${SHELL(rm -rf /)}", "$[1+1]", "x${CALLERID(num)}", "$\\{SHELL(id)}", "$\\[1+1]"],
    )
    def test_dialplan_expressions_refused(self, value: str) -> None:
        with pytest.raises(UnsafeValue, match="dialplan expression"):
            agi_exec_args("ok", value)

    @pytest.mark.parametrize("value", LINE_BREAKERS)
    def test_line_breakers_refused(self, value: str) -> None:
        with pytest.raises(UnsafeValue, match="CR, LF and NUL"):
            agi_exec_args(value)

    def test_lone_dollar_allowed(self) -> None:
        assert agi_exec_args("cost $5") == '"cost $5"'


class TestAmiHeader:
    @pytest.mark.parametrize("value", [CYRILLIC, HUNGARIAN, "${SHELL(rm -rf /)}", "a,b", ""])
    def test_unchanged(self, value: str) -> None:
        assert ami_header(value) == value

    @pytest.mark.parametrize("value", LINE_BREAKERS)
    def test_line_breakers_refused(self, value: str) -> None:
        with pytest.raises(UnsafeValue, match="CR, LF and NUL"):
            ami_header(value)


class TestAmiVariable:
    @pytest.mark.parametrize(
        ("value", "encoded"),
        [
            ("plain", "CALLER=plain"),
            (CYRILLIC, 'CALLER=Иванов\\, Пётр \\"Ген\\"'),
            ("a\\b,c", "CALLER=a\\\\b\\,c"),
            (HUNGARIAN, f"CALLER={HUNGARIAN}"),
            ("x(y", "CALLER=x\\(y"),
        ],
    )
    def test_exact_text(self, value: str, encoded: str) -> None:
        assert ami_variable("CALLER", value) == encoded

    @pytest.mark.parametrize("value", [*HOSTILE, "x=y", "${SHELL(rm -rf /)}"])
    def test_manager_reads_back_one_variable(self, value: str) -> None:
        """manager.c man_do_variable_value: separate on commas, then split at the first `=`."""
        pairs = app_separate_args(ami_variable("CALLER_NAME", value))
        assert [pair.split("=", 1) for pair in pairs] == [["CALLER_NAME", value]]

    @pytest.mark.parametrize("name", ["", "1ABC", "A-B", "A=B", "A B", "A,B=c", "Имя", "X\n"])
    def test_bad_names_refused(self, name: str) -> None:
        with pytest.raises(UnsafeValue, match="variable name"):
            ami_variable(name, "value")

    @pytest.mark.parametrize("value", LINE_BREAKERS)
    def test_line_breakers_refused(self, value: str) -> None:
        with pytest.raises(UnsafeValue, match="CR, LF and NUL"):
            ami_variable("CALLER", value)
