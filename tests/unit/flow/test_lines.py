"""Lines: lines.yaml and lines.csv merged, every problem at its file, row and column."""

from pathlib import Path

import pytest

from ivr.flow.loader import load_library, validate_library
from ivr.flow.model import Line, Sphere

FLOW = "name: {name}\nstart: h\nnodes:\n  h: {{type: hangup}}\n"
PROMPTS = "languages: [uk, ru]\nprompts: {}\n"
LINES = (
    "default_flow: main\nlines:\n"
    "  - {number: '5551000', sphere: service, city: Kyiv, published: site, flow: main}\n"
    "  - {number: '5552000', sphere: connections, city: Kyiv, published: advert, "
    "flow: sales, language: ru}\n"
)
HEADER = "number,sphere,city,published,flow,language\n"


def flows_dir(tmp_path: Path, csv: str | None = None, lines: str = LINES) -> Path:
    for name in ("main", "sales"):
        (tmp_path / f"{name}.yaml").write_text(FLOW.format(name=name), encoding="utf-8")
    (tmp_path / "prompts.yaml").write_text(PROMPTS, encoding="utf-8")
    (tmp_path / "lines.yaml").write_text(lines, encoding="utf-8")
    if csv is not None:
        (tmp_path / "lines.csv").write_text(csv, encoding="utf-8")
    return tmp_path


def problems(directory: Path) -> list[str]:
    return [str(p).replace(f"{directory}/", "") for p in validate_library(directory).problems]


def test_lines_csv_is_merged_with_lines_yaml(tmp_path: Path) -> None:
    csv = HEADER + "5553000,audit,Lviv,leaflet,sales,uk\n5554000, service ,Odesa,,main,\n"
    library = load_library(flows_dir(tmp_path, csv))
    assert library.lines == {
        "5551000": Line("5551000", Sphere.SERVICE, "Kyiv", "site", "main", ""),
        "5552000": Line("5552000", Sphere.CONNECTIONS, "Kyiv", "advert", "sales", "ru"),
        "5553000": Line("5553000", Sphere.AUDIT, "Lviv", "leaflet", "sales", "uk"),
        "5554000": Line("5554000", Sphere.SERVICE, "Odesa", "", "main", ""),
    }
    assert library.flow_for("5553000")[1].name == "sales"
    assert library.flow_for("0000")[0] is None
    assert library.flow_for("0000")[1].name == "main"  # default_flow


def test_columns_in_any_order_and_blank_rows(tmp_path: Path) -> None:
    csv = "flow,number,sphere\n\nmain,5553000,service\n,,\n"
    library = load_library(flows_dir(tmp_path, csv))
    assert library.lines["5553000"] == Line("5553000", Sphere.SERVICE, "", "", "main")
    assert len(library.lines) == 3


def test_a_byte_order_mark_does_not_hide_the_number_column(tmp_path: Path) -> None:
    directory = flows_dir(tmp_path)
    (directory / "lines.csv").write_bytes(
        b"\xef\xbb\xbf" + (HEADER + "5553000,service,Lviv,site,main,\n").encode()
    )
    assert "5553000" in load_library(directory).lines


def test_a_number_in_both_files_is_an_error_at_the_csv_row(tmp_path: Path) -> None:
    csv = HEADER + "5553000,audit,Lviv,leaflet,sales,\n5551000,service,Kyiv,site,main,\n"
    assert problems(flows_dir(tmp_path, csv)) == [
        "lines.csv:3:1: lines[1].number: 5551000 is listed twice"
    ]


def test_a_number_twice_in_the_csv(tmp_path: Path) -> None:
    csv = HEADER + "5553000,audit,Lviv,,sales,\n5553000,audit,Lviv,,sales,\n"
    assert problems(flows_dir(tmp_path, csv)) == [
        "lines.csv:3:1: lines[1].number: 5553000 is listed twice"
    ]


def test_a_number_twice_in_lines_yaml(tmp_path: Path) -> None:
    lines = LINES + "  - {number: '5551000', sphere: audit, flow: main}\n"
    assert problems(flows_dir(tmp_path, lines=lines)) == [
        "lines.yaml:5:14: lines[2].number: 5551000 is listed twice"
    ]


def test_an_unquoted_number_must_be_quoted(tmp_path: Path) -> None:
    lines = LINES + "  - {number: 0441234, sphere: audit, flow: main}\n"
    assert problems(flows_dir(tmp_path, lines=lines)) == [
        "lines.yaml:5:14: lines[2].number: write the number in quotes: unquoted, YAML reads "
        "it as 148124 (and a leading 0 as an octal number)"
    ]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            "5553000,audit,Lviv,site,sales,de",
            "lines.csv:2:6: lines[0].language: 'de' is not in prompts.yaml languages",
        ),
        (
            "5553000,audit,Lviv,site,billing,",
            "lines.csv:2:5: lines[0].flow: 'billing' is not a flow (['main', 'sales'])",
        ),
        (
            "5553000,sales,Lviv,site,main,",
            "lines.csv:2:2: lines[0].sphere: expected one of ['connections', 'audit', 'service']",
        ),
        (
            "555-30-00,audit,Lviv,site,main,",
            "lines.csv:2:1: lines[0].number: expected the dialled digits, got '555-30-00'",
        ),
        (
            ",audit,Lviv,site,main,",
            "lines.csv:2:1: lines[0].number: expected the dialled digits, got None",
        ),
        (
            "5553000",  # a short row: the problem is placed at the column's cell
            "lines.csv:2:2: lines[0].sphere: expected one of ['connections', 'audit', 'service']",
        ),
    ],
)
def test_csv_row_problems_are_placed_at_their_cell(tmp_path: Path, row: str, expected: str) -> None:
    assert problems(flows_dir(tmp_path, HEADER + row + "\n")) == [expected]


def test_a_header_without_number(tmp_path: Path) -> None:
    csv = "sphere,city,published,flow\nservice,Kyiv,site,main\n"
    assert problems(flows_dir(tmp_path, csv)) == [
        "lines.csv:1:1: the first row must name the columns: "
        "number,sphere,city,published,flow,language"
    ]


def test_an_empty_csv(tmp_path: Path) -> None:
    assert problems(flows_dir(tmp_path, "")) == [
        "lines.csv:1:1: the first row must name the columns: "
        "number,sphere,city,published,flow,language"
    ]


def test_an_unknown_column_is_reported_once_at_the_header(tmp_path: Path) -> None:
    # In lines.csv the column of a position is the cell's number (the 4th column here).
    csv = "number,sphere,flow,region\n5553000,audit,main,west\n5554000,audit,main,east\n"
    assert problems(flows_dir(tmp_path, csv)) == [
        "lines.csv:1:4: region: unknown column (expected: number, sphere, city, published, "
        "flow, language)"
    ]


def test_a_csv_that_is_not_utf8(tmp_path: Path) -> None:
    directory = flows_dir(tmp_path)
    (directory / "lines.csv").write_bytes(
        (HEADER + "5553000,audit,Львів,,main,\n").encode("cp1251")
    )
    assert problems(directory) == ["lines.csv:2:15: not UTF-8 text: save the file as UTF-8"]


def test_a_broken_flow_does_not_bury_the_csv_in_follow_on_errors(tmp_path: Path) -> None:
    directory = flows_dir(tmp_path, HEADER + "5553000,audit,Lviv,,sales,\n")
    (directory / "sales.yaml").write_text("name: sales\nstart: x\nnodes:\n  h: {type: hangup}\n")
    assert problems(directory) == ["sales.yaml:2:8: start: 'x' is not a node"]


def test_lines_yaml_problems(tmp_path: Path) -> None:
    lines = (
        "default_flow: nowhere\nlines:\n"
        "  - {number: '5551000', sphere: service, flow: main, lang: uk}\n"
        "  - {number: '5552000', sphere: service, flow: main, language: en}\n"
        "  - just a number\n"
    )
    assert problems(flows_dir(tmp_path, lines=lines)) == [
        "lines.yaml:1:15: default_flow: 'nowhere' is not a flow (['main', 'sales'])",
        "lines.yaml:3:54: lines[0].lang: unknown key (expected: number, sphere, city, "
        "published, flow, language)",
        "lines.yaml:4:64: lines[1].language: 'en' is not in prompts.yaml languages",
        "lines.yaml:5:5: lines[2]: expected a mapping",
    ]


def test_lines_yaml_must_be_a_mapping_with_lines(tmp_path: Path) -> None:
    assert problems(flows_dir(tmp_path, lines="default_flow: main\n")) == [
        "lines.yaml:1:1: expected a mapping with default_flow and a list of lines"
    ]
