"""A value ComfyUI cannot convert to its input's type is one thing to decide per
workflow, with an action naming each node, input, value and the type the install
declares."""

from __future__ import annotations

from dataclasses import replace

from tests.reporting.reports import report_with_findings
from watchman.reporting.advice import actions
from watchman.reporting.document import report_json
from watchman.reporting.markdown import render_markdown
from watchman.reporting.report import Report
from watchman.reporting.value_groups import MAX_NAMED_NODES
from watchman.stages.type_needs import WrongTypeValue

STEPS = WrongTypeValue("3", "KSampler", "steps", "1.5", "INT")
CFG = WrongTypeValue("3", "KSampler", "cfg", "auto", "FLOAT")


def report_with(values: dict[str, tuple[WrongTypeValue, ...]]) -> Report:
    return report_with_findings("wrong_type", dict(values))


def test_each_value_of_another_type_gets_one_action_naming_its_nodes_and_type() -> None:
    report = report_with(
        {
            "/w/a.json": (STEPS, CFG),
            "/w/b.json": (replace(STEPS, node_id="7"),),
            "/w/c.json": (),
        }
    )
    found = [action for action in actions(report) if action.kind == "set_value"]
    assert [action.unblocks for action in found] == [("a.json", "b.json"), ("a.json",)]
    steps, cfg = (action.title for action in found)
    assert steps.startswith("Set steps of KSampler (nodes 3, 7) to a whole number: it is '1.5'")
    assert "Failed to convert an input value to a INT value" in steps
    assert cfg.startswith("Set cfg of KSampler (node 3) to a number: it is 'auto'")
    assert all(action.uncertain for action in found)
    assert report.summary.uncertain == len(found) == 2


def test_the_report_lists_each_value_and_counts_distinct_ones() -> None:
    report = report_with({"/w/a.json": (STEPS,), "/w/b.json": (replace(STEPS, node_id="9"),)})
    document = report_json(report)
    by_name = {entry["name"]: entry for entry in document["workflows"]}
    assert by_name["a.json"]["status"] == "uncertain"
    assert by_name["a.json"]["uncertain_count"] == 1
    assert by_name["a.json"]["wrong_type_values"] == [
        {"node_id": "3", "node_type": "KSampler", "input": "steps", "value": "1.5", "type": "INT"}
    ]
    assert document["summary"]["values_of_wrong_type"] == 1
    assert document["summary"]["uncertain"] == 1
    markdown = render_markdown(report)
    assert "Values ComfyUI cannot read as their inputs' type: 1" in markdown
    assert "1 value(s) of another type" in markdown


def test_two_values_of_one_input_are_two_things_to_decide() -> None:
    report = report_with({"/w/a.json": (STEPS, replace(STEPS, value="many"))})
    assert report.summary.values_of_wrong_type == 2
    assert report.workflows[0].uncertain_count == 2


def test_many_nodes_holding_one_value_are_named_in_part_and_counted() -> None:
    many = tuple(replace(STEPS, node_id=str(n)) for n in range(MAX_NAMED_NODES + 2))
    [action] = [a for a in actions(report_with({"/w/a.json": many})) if a.kind == "set_value"]
    assert "(nodes 0, 1, 2, 3, 4 and 2 more)" in action.title


def test_a_null_is_said_as_null_and_counted_apart_from_the_text_null() -> None:
    null = replace(STEPS, value=None)
    report = report_with({"/w/a.json": (null, replace(STEPS, value="null"))})
    titles = [a.title for a in actions(report) if a.kind == "set_value"]
    assert [title.split(",")[0] for title in titles] == [
        "Set steps of KSampler (node 3) to a whole number: it is null",
        "Set steps of KSampler (node 3) to a whole number: it is 'null'",
    ]
    assert report.summary.values_of_wrong_type == 2
    entry = report_json(report)["workflows"][0]
    assert entry["wrong_type_values"][0]["value"] is None


def test_a_long_value_is_shortened_in_the_sentence() -> None:
    long = replace(STEPS, value="x" * 150)
    [action] = [a for a in actions(report_with({"/w/a.json": (long,)})) if a.kind == "set_value"]
    assert "x" * 150 not in action.title
