"""What an assessment asked of the inventory decides its needs: when no file of a name it
looked up changed and the folders it read whole hold the same files, the needs assessed
anew are the same."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from watchman.comfy.workflow_model import ModelReference, NodeUse, ParsedWorkflow
from watchman.stages.inventory.models import ModelFile, ModelInventory
from watchman.stages.needs import assess_workflow
from watchman.stages.needs_lookups import Answers, Dependence, ModelChanges, RecordedLookups

ROOT = "/comfy/models"
FOLDERS = ("checkpoints", "loras", "embeddings")
# Few names, so that files and references often meet.
_NAME = st.sampled_from(["a", "A", "neg", "sub/a", "Sub/neg"])
_EXTENSION = st.sampled_from([".safetensors", ".pt", ""])
_FILE = st.tuples(st.sampled_from(FOLDERS), _NAME, _EXTENSION, st.integers(0, 2))
# Enough LoRAs, sometimes, that a by-name lookup goes through the name index.
_PADDING = st.sampled_from([0, 70])


def inventory_of(files: list[tuple[str, str, str, int]], padding: int) -> ModelInventory:
    by_folder: dict[str, set[tuple[str, int]]] = {folder: set() for folder in FOLDERS}
    for folder, name, extension, size in files:
        by_folder[folder].add((name + extension, size))
    by_folder["loras"].update((f"pad/{at}.safetensors", 1) for at in range(padding))
    return ModelInventory(
        roots={folder: (f"{ROOT}/{folder}",) for folder in FOLDERS},
        files={
            folder: tuple(
                ModelFile(folder, path, f"{ROOT}/{folder}", size, 0.0)
                for path, size in sorted(found)
            )
            for folder, found in by_folder.items()
        },
        separator="/",
    )


_REFERENCE = st.builds(
    lambda kind, name, extension: {
        "loader": ModelReference(
            "1",
            "CheckpointLoaderSimple",
            "ckpt_name",
            name + extension,
            "checkpoints",
            False,
            False,
            None,
        ),
        "lora": ModelReference(
            "2", "LoraLoader", "lora_name", name + extension, "loras", False, False, None
        ),
        "by_name": ModelReference(
            "3", "LoraManager", "loras", name, "loras", False, False, None, lookup="by_name"
        ),
        "embedding": ModelReference(
            "4", "CLIPTextEncode", "text", name + extension, "embeddings", False, False, None
        ),
        "climbing": ModelReference(
            "5", "CLIPTextEncode", "text", "../" + name, "embeddings", False, False, None
        ),
        "unknown": ModelReference(
            "6", "Mystery", "file", name + extension, None, False, False, None
        ),
    }[kind],
    st.sampled_from(["loader", "lora", "by_name", "embedding", "climbing", "unknown"]),
    _NAME,
    _EXTENSION,
)
_NODES = tuple(
    NodeUse(str(at), node_type, False, False, None, None, None)
    for at, node_type in enumerate(
        ["CheckpointLoaderSimple", "LoraLoader", "LoraManager", "CLIPTextEncode", "Mystery"], 1
    )
)
_TYPES = frozenset(node.node_type for node in _NODES)


def changes_between(first: ModelInventory, second: ModelInventory) -> ModelChanges:
    """The names of the files one inventory holds and the other does not (as they are)."""

    def entries(inventory: ModelInventory) -> set[tuple[object, ...]]:
        return {
            (m.folder, m.relative_path, m.root, m.size, m.mtime)
            for files in inventory.files.values()
            for m in files
        }

    changed = entries(first) ^ entries(second)
    return ModelChanges("", frozenset(str(e[1]).rpartition("/")[2].lower() for e in changed))


@settings(max_examples=500, deadline=None)
@given(
    references=st.lists(_REFERENCE, min_size=1, max_size=4),
    before=st.lists(_FILE, max_size=6),
    after=st.lists(_FILE, max_size=6),
    padding=st.tuples(_PADDING, _PADDING),
)
def test_needs_whose_questions_get_the_same_answers_are_the_same(
    references: list[ModelReference],
    before: list[tuple[str, str, str, int]],
    after: list[tuple[str, str, str, int]],
    padding: tuple[int, int],
) -> None:
    parsed = ParsedWorkflow("ui", _NODES, tuple(references), (), frozenset(), ())
    first = inventory_of(before, padding[0])
    second = inventory_of(before[: len(before) // 2] + after, padding[1])
    recorded = RecordedLookups(first)
    needs = assess_workflow(parsed, recorded, _TYPES)
    asked = recorded.dependence()
    assert needs == assess_workflow(parsed, first, _TYPES)  # the same answers, recorded
    untouched = asked.untouched_by(changes_between(first, second))
    if untouched and Answers(second).digest(asked) == Answers(first).digest(asked):
        assert assess_workflow(parsed, second, _TYPES) == needs


def test_a_model_added_under_a_name_looked_up_touches_the_needs_and_others_do_not() -> None:
    first = inventory_of([("loras", "style", ".safetensors", 1)], 0)
    second = inventory_of([("loras", "style", ".safetensors", 1), ("loras", "new", ".pt", 1)], 0)
    lora = ModelReference("2", "LoraLoader", "lora_name", "New.pt", "loras", False, False, None)
    recorded = RecordedLookups(first)
    assess_workflow(ParsedWorkflow("ui", _NODES, (lora,), (), frozenset(), ()), recorded, _TYPES)
    asked = recorded.dependence()
    assert "new.pt" in asked.names
    assert not asked.untouched_by(changes_between(first, second))
    assert Dependence(names=("style.safetensors",)).untouched_by(changes_between(first, second))


def test_a_dependence_comes_back_equal_through_json() -> None:
    asked = Dependence(("a.pt", "b"), ("embeddings",), (("loras", 64),))
    assert Dependence.from_json(asked.to_json()) == asked
