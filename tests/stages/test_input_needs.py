"""Input files ComfyUI would not find make a workflow uncertain, never more, never less."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import orjson
from hypothesis import given
from hypothesis import strategies as st

from tests.stages.test_needs import CORE, INVENTORY, node, ref, workflow
from watchman.comfy.input_files import MAX_INPUT_NAME_CHARS, InputFileReference
from watchman.stages.input_needs import (
    InputFolder,
    find_input_needs,
    input_folder_path,
    observe_input_folder,
    stays_inside,
)
from watchman.stages.needs import assess_workflow
from watchman.stages.packed_needs import pack_needs, unpack_needs

AN_HOUR_ON = time.time_ns() + 3600 * 10**9  # a wall clock well after every stamp: none racy


def image(
    value: str, node_id: str = "5", mode: int = 0, folder: str = "input"
) -> InputFileReference:
    return InputFileReference(node_id, "LoadImage", "image", value, folder, mode == 4, mode == 2)  # type: ignore[arg-type]


def folder_with(tmp_path: Path, *names: str) -> InputFolder:
    root = tmp_path / "input"
    root.mkdir(exist_ok=True)
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"png")
    return observe_input_folder(root, AN_HOUR_ON)


def test_a_file_the_input_folder_has_is_no_need_and_one_it_lacks_is_missing(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, "cat.png", "pasted/dog.png")
    needs = find_input_needs(
        [image("cat.png"), image("pasted/dog.png"), image("author's.png")], folder
    )
    assert [(need.reference.value, need.state) for need in needs] == [("author's.png", "missing")]


def test_output_and_temp_files_and_inactive_nodes_are_not_checked(tmp_path: Path) -> None:
    folder = folder_with(tmp_path)
    references = [
        image("render.png", folder="output"),
        image("preview.png", folder="temp"),
        image("bypassed.png", mode=4),
        image("muted.png", mode=2),
    ]
    assert find_input_needs(references, folder) == ()


def test_a_path_that_leaves_the_folder_is_outside_and_never_looked_at(tmp_path: Path) -> None:
    (tmp_path / "secret.png").write_bytes(b"there, but outside")
    folder = folder_with(tmp_path)
    values = ["../secret.png", str(tmp_path / "secret.png"), "C:\\x.png", "a\\..\\..\\b.png"]
    needs = find_input_needs([image(value) for value in values], folder)
    assert [need.state for need in needs] == ["outside"] * 4
    assert folder._answers == {}  # nothing was asked of the file system


def test_a_name_the_system_refuses_is_missing_not_an_error(tmp_path: Path) -> None:
    folder = folder_with(tmp_path)
    values = ["nul\0byte.png", "x" * 300 + ".png", "y" * MAX_INPUT_NAME_CHARS]
    needs = find_input_needs([image(value) for value in values], folder)
    assert [need.state for need in needs] == ["missing"] * 3


def test_each_distinct_name_is_asked_once_per_cycle(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, "cat.png")
    find_input_needs([image("cat.png"), image("cat.png", node_id="9")], folder)
    (tmp_path / "input" / "cat.png").unlink()
    assert find_input_needs([image("cat.png")], folder) == ()  # the cycle's answer stands


@given(st.text(max_size=40))
def test_a_name_that_stays_inside_never_climbs_out(name: str) -> None:
    if stays_inside(name):
        assert not os.path.isabs(name)
        assert ".." not in name.replace("\\", "/").split("/")


def test_adding_removing_or_renaming_a_file_changes_the_folder_s_digest(tmp_path: Path) -> None:
    root = tmp_path / "input"
    (root / "sub").mkdir(parents=True)
    digests = [observe_input_folder(root, AN_HOUR_ON).digest]

    def later(change: object) -> None:
        time.sleep(0.01)  # a new mtime even where the clock is coarse within a second
        digests.append(observe_input_folder(root, AN_HOUR_ON).digest)

    later((root / "a.png").write_bytes(b"1"))
    later((root / "sub" / "b.png").write_bytes(b"2"))
    later((root / "a.png").rename(root / "c.png"))
    later((root / "sub" / "b.png").unlink())
    assert len(set(digests)) == len(digests)
    assert observe_input_folder(root, AN_HOUR_ON).digest == digests[-1]


def test_an_absent_folder_has_a_digest_and_lacks_everything(tmp_path: Path) -> None:
    folder = observe_input_folder(tmp_path / "nowhere", AN_HOUR_ON)
    assert folder.digest and not folder.has("cat.png")


def test_a_folder_changed_just_now_matches_no_later_digest(tmp_path: Path) -> None:
    root = tmp_path / "input"
    root.mkdir()
    now = time.time_ns()
    assert observe_input_folder(root, now).digest != observe_input_folder(root, now + 1).digest
    far = now + 10 * 10**9
    assert observe_input_folder(root, far).digest == observe_input_folder(root, far + 1).digest


def test_the_input_folder_is_the_root_s_unless_configured(tmp_path: Path) -> None:
    root = tmp_path / "ComfyUI"
    assert input_folder_path(None, root, tmp_path) == root / "input"
    assert input_folder_path(Path("my_inputs"), root, tmp_path) == root / "my_inputs"
    assert input_folder_path(Path("~/pics"), root, tmp_path / "me") == tmp_path / "me" / "pics"
    assert input_folder_path(tmp_path / "abs", root, tmp_path) == tmp_path / "abs"


def test_a_missing_input_makes_an_otherwise_ready_workflow_uncertain(tmp_path: Path) -> None:
    folder = folder_with(tmp_path)
    parsed = workflow(
        [node("1", "CheckpointLoaderSimple"), node("5", "LoadImage")],
        [ref("1", "CheckpointLoaderSimple", "SDXL/base.safetensors", "checkpoints")],
    )
    with_image = replace(parsed, input_files=(image("author.png"),))
    assert assess_workflow(with_image, INVENTORY, CORE | {"LoadImage"}).status == "ready"
    needs = assess_workflow(with_image, INVENTORY, CORE | {"LoadImage"}, inputs=folder)
    assert needs.status == "uncertain"
    assert [need.reference.value for need in needs.missing_inputs] == ["author.png"]


def test_a_missing_model_still_wins_over_a_missing_input(tmp_path: Path) -> None:
    folder = folder_with(tmp_path)
    parsed = workflow(
        [node("1", "CheckpointLoaderSimple"), node("5", "LoadImage")],
        [ref("1", "CheckpointLoaderSimple", "absent.safetensors", "checkpoints")],
    )
    with_image = replace(parsed, input_files=(image("author.png"),))
    needs = assess_workflow(with_image, INVENTORY, CORE | {"LoadImage"}, inputs=folder)
    assert needs.status == "missing_models" and len(needs.missing_inputs) == 1


def test_input_needs_come_back_through_the_needs_cache_s_packing(tmp_path: Path) -> None:
    folder = folder_with(tmp_path)
    files = (image("a.png"), image("../b.png", node_id="6"))
    parsed = workflow([node("5", "LoadImage")], [])
    with_images = replace(parsed, input_files=files)
    needs = assess_workflow(with_images, INVENTORY, CORE | {"LoadImage"}, inputs=folder)
    packed = orjson.loads(orjson.dumps(pack_needs(needs, (), files)))
    back = unpack_needs(packed, (), files)
    assert back == needs and back.missing_inputs[0].reference is files[0]


def test_a_linked_folder_is_followed_once_and_a_file_added_there_changes_the_digest(
    tmp_path: Path,
) -> None:
    root, elsewhere = tmp_path / "input", tmp_path / "nas" / "pictures"
    root.mkdir()
    elsewhere.mkdir(parents=True)
    (root / "pictures").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "loop").symlink_to(root, target_is_directory=True)  # ends, never spins
    before = observe_input_folder(root, AN_HOUR_ON).digest
    time.sleep(0.01)
    (elsewhere / "cat.png").write_bytes(b"png")
    after = observe_input_folder(root, AN_HOUR_ON)
    assert after.digest != before
    assert after.has("pictures/cat.png")


@given(st.lists(st.text(max_size=300), max_size=8))
def test_any_text_a_stranger_writes_is_found_missing_or_outside_never_an_error(
    values: list[str],
) -> None:
    folder = InputFolder(Path("/nonexistent-input-folder-for-tests"), "digest")
    needs = find_input_needs([image(value) for value in values], folder)
    assert len(needs) == len(values)  # that folder has nothing
    assert all(need.state in ("missing", "outside") for need in needs)


def test_a_missing_input_file_lying_beside_its_workflow_is_found_there(tmp_path: Path) -> None:
    from watchman.stages.input_needs import InputFileNeed, files_beside

    (tmp_path / "bundle").mkdir()
    workflow = str(tmp_path / "bundle" / "img2img.json")
    (tmp_path / "bundle" / "girl.png").write_bytes(b"png")
    needs = [
        InputFileNeed(image("girl.png"), "missing"),
        InputFileNeed(image("pasted/girl.png"), "missing"),  # its last part is there
        InputFileNeed(image("other.png"), "missing"),
        InputFileNeed(image("../girl.png"), "outside"),
    ]
    assert files_beside([(workflow, needs)]) == {
        (workflow, "girl.png"): str(tmp_path / "bundle" / "girl.png"),
        (workflow, "pasted/girl.png"): str(tmp_path / "bundle" / "girl.png"),
    }


def test_a_walk_its_bounds_cut_short_matches_no_later_digest(tmp_path: Path) -> None:
    from watchman.stages.input_needs import MAX_INPUT_DEPTH

    root = tmp_path / "input"
    deep = root.joinpath(*(f"l{level}" for level in range(MAX_INPUT_DEPTH + 2)))
    deep.mkdir(parents=True)
    later = observe_input_folder(root, AN_HOUR_ON + 1).digest
    assert observe_input_folder(root, AN_HOUR_ON).digest != later
    shallow = tmp_path / "shallow"
    (shallow / "a").mkdir(parents=True)
    shallow_later = observe_input_folder(shallow, AN_HOUR_ON + 1).digest
    assert observe_input_folder(shallow, AN_HOUR_ON).digest == shallow_later


def test_a_linked_file_whose_target_vanishes_changes_the_digest(tmp_path: Path) -> None:
    root, target = tmp_path / "input", tmp_path / "elsewhere.png"
    root.mkdir()
    target.write_bytes(b"png")
    (root / "portrait.png").symlink_to(target)
    before = observe_input_folder(root, AN_HOUR_ON)
    assert before.linked_files == (str(root / "portrait.png"),)
    target.unlink()
    assert observe_input_folder(root, AN_HOUR_ON).digest != before.digest
