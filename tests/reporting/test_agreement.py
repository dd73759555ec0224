"""The JSON report and the Markdown page say the same thing: one model key groups a model
everywhere, and every count of the summary agrees with every table of the page."""

from __future__ import annotations

import re
from collections import Counter

from tests.reporting.reports import found, lora, pack, parsed, report_of
from watchman.reporting.document import report_json
from watchman.reporting.markdown import render_markdown

FOO = ("loras", "SDXL/foo.safetensors")


def section_rows(markdown: str, heading: str) -> list[str]:
    """The table rows (or bullets) under one ``###`` heading, header lines left out."""
    lines = markdown.split(f"### {heading}", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    rows = [
        line
        for line in lines.splitlines()[1:]
        if line.startswith(("| ", "- ")) and not line.startswith(("| ---", "|  ↳"))
    ]
    return rows[1:] if rows and rows[0].startswith("| ") else rows


def test_one_file_written_with_either_separator_is_one_missing_model_and_one_row() -> None:
    report = report_of(
        {
            "/w/windows.json": parsed([lora("1", "SDXL\\foo.safetensors")]),
            "/w/linux.json": parsed([lora("1", "SDXL/foo.safetensors")]),
        },
        {FOO: found("https://example.invalid/foo")},
    )
    document = report_json(report)
    assert document["summary"]["missing_models"] == 1
    markdown = render_markdown(report)
    [row] = section_rows(markdown, "Get missing models")
    assert row.endswith("| 2 |")  # both workflows need it
    assert len(document["downloads"]) == 1
    assert document["downloads"][0]["workflows"] == ["/w/linux.json", "/w/windows.json"]


def test_every_count_of_the_summary_agrees_with_every_table() -> None:
    report = report_of(
        {
            "/w/a.json": parsed(
                [lora("1", "SDXL\\foo.safetensors"), lora("2", "stray_lora.safetensors")]
            ),
            "/w/b.json": parsed(
                [lora("1", "./SDXL/FOO.safetensors"), lora("2", "style.safetensors")]
            ),
            "/w/c.json": parsed([lora("1", "never.safetensors")], ("FancyNode", "OtherNode")),
            "/w/d.json": parsed([], ("FancyNode",)),
            "/w/ready.json": parsed([lora("1", "Style.safetensors")]),
            "/w/broken.json": None,
        },
        {FOO: found("https://example.invalid/foo")},
        {
            "FancyNode": pack(url="https://example.invalid/fancy"),
            "OtherNode": pack(url="https://example.invalid/other"),
        },
    )
    document = report_json(report)
    summary = document["summary"]
    markdown = render_markdown(report)

    status_rows = dict(re.findall(r"^\| ([a-z ]+) \| (\d+) \|$", markdown, re.MULTILINE))
    by_status = Counter(entry["status"] for entry in document["workflows"])
    for status, count in summary["workflows_by_status"].items():
        assert count == by_status[status] == int(status_rows[status.replace("_", " ")])
    assert summary["workflows"] == len(document["workflows"]) == 6

    assert summary["missing_models"] == len(section_rows(markdown, "Get missing models")) == 2
    assert summary["misplaced_models"] == len(section_rows(markdown, "Move misplaced models")) == 1
    assert (
        summary["misspelled_models"] == len(section_rows(markdown, "Pick the installed file")) == 1
    )
    node_rows = section_rows(markdown, "Install node packs")
    assert summary["missing_nodes"] == len(node_rows) == 2
    assert len(document["downloads"]) == len(section_rows(markdown, "Planned downloads")) == 1
    assert len(section_rows(markdown, "Fix unreadable workflows")) == by_status["parse_error"]
    assert f"- Missing models: {summary['missing_models']} " in markdown

    workflow_rows = [
        line for line in markdown.split("## Workflows", 1)[1].splitlines() if line.startswith("| `")
    ]
    assert len(workflow_rows) == len(document["workflows"])
    for entry, row in zip(document["workflows"], workflow_rows, strict=True):
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[0] == f"`{entry['name']}`"
        assert int(cells[3]) == len(entry["missing_models"])
        assert int(cells[4]) == len(entry["missing_nodes"])
        assert int(cells[5]) == entry["uncertain_count"]
