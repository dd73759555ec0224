"""A link whose source's output the input does not take is one thing to decide per
workflow, with an action naming each link's ends, slot and types."""

from __future__ import annotations

from dataclasses import replace

from tests.reporting.reports import report_with_findings
from watchman.reporting.advice import actions
from watchman.reporting.document import report_json
from watchman.reporting.link_type_advice import MAX_NAMED_LINKS
from watchman.reporting.markdown import render_markdown
from watchman.reporting.report import Report
from watchman.stages.link_type_needs import MismatchedLink

MASK = MismatchedLink("3", "SaveImage", "images", "4", "LoadImage", 1, "MASK", "IMAGE")
GONE = MismatchedLink("5", "PreviewImage", "images", "4", "LoadImage", 7, None, "IMAGE")


def report_with(links: dict[str, tuple[MismatchedLink, ...]]) -> Report:
    return report_with_findings("mismatched_links", dict(links))


def test_each_workflow_gets_one_action_naming_its_links() -> None:
    report = report_with({"/w/a.json": (MASK, GONE), "/w/b.json": ()})
    [action] = [action for action in actions(report) if action.kind == "reconnect_links"]
    assert action.unblocks == ("a.json",)
    assert (
        "images of SaveImage (node 3) takes IMAGE but is fed MASK from output 1 of "
        "LoadImage (node 4)" in action.title
    )
    assert "output 7 of LoadImage (node 4), which has no such output now" in action.title
    assert "Return type mismatch between linked nodes" in action.title
    assert action.uncertain


def test_the_report_lists_each_link_and_counts_them() -> None:
    report = report_with({"/w/a.json": (MASK,), "/w/b.json": (GONE, replace(GONE, node_id="6"))})
    document = report_json(report)
    by_name = {entry["name"]: entry for entry in document["workflows"]}
    assert by_name["a.json"]["status"] == "uncertain"
    assert by_name["a.json"]["uncertain_count"] == 1
    assert by_name["a.json"]["mismatched_links"] == [
        {
            "node_id": "3",
            "node_type": "SaveImage",
            "input": "images",
            "source_id": "4",
            "source_type": "LoadImage",
            "slot": 1,
            "received": "MASK",
            "expected": "IMAGE",
        }
    ]
    assert by_name["b.json"]["mismatched_links"][0]["received"] is None
    assert document["summary"]["mismatched_links"] == 3
    assert document["summary"]["uncertain"] == 3
    markdown = render_markdown(report)
    assert "Links whose source's type the input does not take: 3" in markdown
    assert "2 link(s) of mismatched types" in markdown


def test_many_links_are_named_in_part_and_counted() -> None:
    many = tuple(replace(MASK, node_id=str(n)) for n in range(MAX_NAMED_LINKS + 2))
    [action] = [a for a in actions(report_with({"/w/a.json": many})) if a.kind == "reconnect_links"]
    assert "; and 2 more link(s)." in action.title
