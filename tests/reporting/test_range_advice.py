"""A number outside its range is one thing to decide per workflow, with an action naming
each node, input, value and the range the install allows."""

from __future__ import annotations

from dataclasses import replace

from tests.reporting.reports import report_with_findings
from watchman.reporting.advice import actions
from watchman.reporting.document import report_json
from watchman.reporting.markdown import render_markdown
from watchman.reporting.range_advice import allowed_text
from watchman.reporting.report import Report
from watchman.reporting.value_groups import MAX_NAMED_NODES
from watchman.stages.range_needs import OutOfRangeValue

STEPS = OutOfRangeValue("3", "KSampler", "steps", 20000, "above", 1, 10000)
START = OutOfRangeValue("23", "InfiniteYouApply", "start_at", 1.0000000000000002, "above", 0.0, 1.0)


def report_with(values: dict[str, tuple[OutOfRangeValue, ...]]) -> Report:
    return report_with_findings("out_of_range", dict(values))


def test_each_value_out_of_range_gets_one_action_naming_its_nodes_and_range() -> None:
    report = report_with(
        {
            "/w/a.json": (STEPS, START),
            "/w/b.json": (replace(STEPS, node_id="7"),),
            "/w/c.json": (),
        }
    )
    found = [action for action in actions(report) if action.kind == "set_value"]
    assert [action.unblocks for action in found] == [("a.json", "b.json"), ("a.json",)]
    steps, start = (action.title for action in found)
    assert steps.startswith("Set steps of KSampler (nodes 3, 7) within 1 to 10000: it is 20000")
    assert "start_at of InfiniteYouApply (node 23) within 0.0 to 1.0" in start
    assert "it is 1.0000000000000002, over what this install allows" in start
    assert all(action.uncertain for action in found)
    assert report.summary.uncertain == len(found) == 2


def test_the_report_lists_each_value_and_counts_distinct_ones() -> None:
    report = report_with({"/w/a.json": (STEPS,), "/w/b.json": (replace(STEPS, node_id="9"),)})
    document = report_json(report)
    by_name = {entry["name"]: entry for entry in document["workflows"]}
    assert by_name["a.json"]["status"] == "uncertain"
    assert by_name["a.json"]["uncertain_count"] == 1
    assert by_name["a.json"]["out_of_range_values"] == [
        {
            "node_id": "3",
            "node_type": "KSampler",
            "input": "steps",
            "value": 20000,
            "side": "above",
            "min": 1,
            "max": 10000,
        }
    ]
    assert document["summary"]["values_out_of_range"] == 1
    assert document["summary"]["uncertain"] == 1
    markdown = render_markdown(report)
    assert "Numbers outside the range ComfyUI allows: 1" in markdown
    assert "1 number(s) out of range" in markdown


def test_many_nodes_holding_one_value_are_named_in_part_and_counted() -> None:
    many = tuple(replace(STEPS, node_id=str(n)) for n in range(MAX_NAMED_NODES + 2))
    [action] = [a for a in actions(report_with({"/w/a.json": many})) if a.kind == "set_value"]
    assert "(nodes 0, 1, 2, 3, 4 and 2 more)" in action.title


def test_an_open_side_is_said_as_at_least_or_at_most() -> None:
    assert allowed_text(0, None) == "at least 0"
    assert allowed_text(None, 1.5) == "at most 1.5"
