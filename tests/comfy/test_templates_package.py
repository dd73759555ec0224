"""The official ComfyUI workflow templates (PyPI comfyui-workflow-templates-json, MIT).

Every embedded model entry (name, directory, url) of every template must be matched by a
reference with that file name, in the entry's directory unless the loader disagrees.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from watchman.comfy.folders import canonical_folder
from watchman.comfy.loader_lookup import loader_spec
from watchman.comfy.model_references import base_name_key
from watchman.comfy.workflow import parse_workflow_json
from watchman.comfy.workflow_model import ParsedWorkflow

# (template file, model name) -> why the loader's folder wins over the entry's directory.
# None today: every entry agrees with its loader. Add a case here with its reason.
LOADER_DISAGREES: dict[tuple[str, str], str] = {}


def templates_folder() -> Path:
    spec = importlib.util.find_spec("comfyui_workflow_templates_json")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("comfyui-workflow-templates-json is not installed (a test dependency)")
    return Path(next(iter(spec.submodule_search_locations))) / "templates"


def raw_entries(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every embedded model entry, read independently of the parser: top-level models and
    properties.models of nodes at every level, subgraph definitions included."""
    entries = [entry for entry in document.get("models") or [] if isinstance(entry, dict)]
    pending: list[dict[str, Any]] = [document]
    while pending:
        holder = pending.pop()
        for node in holder.get("nodes") or []:
            models = (node.get("properties") or {}).get("models") or []
            entries.extend(entry for entry in models if isinstance(entry, dict))
        pending.extend((holder.get("definitions") or {}).get("subgraphs") or [])
    return entries


@pytest.fixture(scope="module")
def templates() -> list[tuple[str, dict[str, Any], ParsedWorkflow]]:
    loaded = []
    for path in sorted(templates_folder().glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        # index*.json and fuse_options.json describe the templates; they are not workflows.
        if isinstance(document, dict) and isinstance(document.get("nodes"), list):
            loaded.append((path.name, document, parse_workflow_json(document, path.name)))
    return loaded


def test_the_package_holds_hundreds_of_workflows_with_subgraphs_and_models(
    templates: list[tuple[str, dict[str, Any], ParsedWorkflow]],
) -> None:
    assert len(templates) > 600
    assert sum(len(parsed.subgraph_ids) for _, _, parsed in templates) > 250
    assert sum(len(raw_entries(document)) for _, document, _ in templates) > 1000


def test_every_embedded_model_entry_has_a_reference_in_its_directory(
    templates: list[tuple[str, dict[str, Any], ParsedWorkflow]],
) -> None:
    unmatched = []
    wrong_folder = []
    for name, document, parsed in templates:
        for entry in raw_entries(document):
            key = base_name_key(str(entry.get("name")))
            matches = [ref for ref in parsed.model_refs if base_name_key(ref.value) == key]
            if not matches:
                unmatched.append((name, entry.get("name")))
                continue
            directory = canonical_folder(str(entry.get("directory") or ""))
            agrees = any(ref.folder == directory for ref in matches)
            if not agrees and (name, str(entry.get("name"))) not in LOADER_DISAGREES:
                wrong_folder.append(
                    (name, entry.get("name"), directory, [ref.folder for ref in matches])
                )
    assert unmatched == []
    assert wrong_folder == []


def test_table_loaders_get_their_folder_from_the_table_not_from_the_entry(
    templates: list[tuple[str, dict[str, Any], ParsedWorkflow]],
) -> None:
    for _, _, parsed in templates:
        for ref in parsed.model_refs:
            spec = loader_spec(ref.node_type)
            if spec is not None and ref.input in spec.model_inputs:
                assert ref.folder == spec.model_inputs[ref.input]
