"""Present but broken: truncated, empty and HTML-bodied model files are caught by reading a
few bytes of each new or changed file, and an unchanged tree is not read at all."""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from tests.remote.blob_server import safetensors_blob
from watchman.comfy.model_file_check import FileProblem, check_model_file
from watchman.stages.inventory.model_health import check_model_health, leftovers_beside
from watchman.stages.inventory.model_scan import scan_models
from watchman.stages.inventory.model_verdicts import RememberedVerdicts, previous_verdicts
from watchman.stages.inventory.models import ModelFile, ModelInventory

GOOD = safetensors_blob(4096)


def comfy(tmp_path: Path) -> Path:
    root = tmp_path / "ComfyUI"
    (root / "models" / "loras").mkdir(parents=True)
    (root / "models" / "checkpoints").mkdir(parents=True)
    return root


def health_of(
    root: Path, previous: RememberedVerdicts | None = None, opened: list[Path] | None = None
):
    def counting(path: Path, size: int | None = None) -> FileProblem | None:
        if opened is not None:
            opened.append(Path(path))
        return check_model_file(path, size)

    return check_model_health(
        scan_models(root, environ={}, home_dir=root), previous, check=counting
    )


def reasons(health) -> dict[str, str]:
    return {b.relative_path: b.reason for b in health.broken.values()}


def test_truncated_empty_and_html_bodied_safetensors_are_broken_and_a_sound_one_is_not(
    tmp_path: Path,
) -> None:
    root = comfy(tmp_path)
    loras = root / "models" / "loras"
    (loras / "good.safetensors").write_bytes(GOOD)
    (loras / "cut.safetensors").write_bytes(GOOD[:3000])
    (loras / "empty.safetensors").write_bytes(b"")
    (loras / "login.safetensors").write_bytes(b"<!DOCTYPE html><html><title>Sign in</title>")
    (loras / "error.ckpt").write_bytes(b'{"error": "Unauthorized"}')
    (loras / "short.safetensors").write_bytes(b"\x10\x00")
    health = health_of(root)
    assert reasons(health) == {
        "cut.safetensors": "truncated",
        "empty.safetensors": "empty",
        "login.safetensors": "html_page",
        "error.ckpt": "json_body",
        "short.safetensors": "truncated",
    }
    assert "tensors need" in health.broken[str(loras / "cut.safetensors")].detail


def test_a_header_that_is_not_json_or_lacks_offsets_is_a_bad_header(tmp_path: Path) -> None:
    root = comfy(tmp_path)
    loras = root / "models" / "loras"
    (loras / "garbage.safetensors").write_bytes((5).to_bytes(8, "little") + b"nope!" + b"x" * 9)
    header = b'{"w": {"dtype": "U8"}}'
    (loras / "nooffsets.safetensors").write_bytes(len(header).to_bytes(8, "little") + header)
    assert reasons(health_of(root)) == {
        "garbage.safetensors": "bad_header",
        "nooffsets.safetensors": "bad_header",
    }


def test_an_unchanged_tree_is_not_read_again_and_keeps_its_verdicts(tmp_path: Path) -> None:
    root = comfy(tmp_path)
    loras = root / "models" / "loras"
    (loras / "good.safetensors").write_bytes(GOOD)
    (loras / "empty.safetensors").write_bytes(b"")
    first = health_of(root)
    # Through the bytes of the state file, as the next cycle reads it.
    remembered = previous_verdicts(orjson.loads(orjson.dumps(first.to_state_document())))
    opened: list[Path] = []
    second = health_of(root, remembered, opened)
    assert opened == [] and second.opened == 0 and not second.changed
    assert reasons(second) == {"empty.safetensors": "empty"}


def test_only_the_new_or_changed_file_is_read(tmp_path: Path) -> None:
    root = comfy(tmp_path)
    loras = root / "models" / "loras"
    (loras / "good.safetensors").write_bytes(GOOD)
    (loras / "later.safetensors").write_bytes(b"")
    remembered = previous_verdicts(health_of(root).to_state_document())
    (loras / "later.safetensors").write_bytes(GOOD)  # fixed by hand: a new size
    (loras / "new.safetensors").write_bytes(GOOD[:100])
    opened: list[Path] = []
    health = health_of(root, remembered, opened)
    assert sorted(p.name for p in opened) == ["later.safetensors", "new.safetensors"]
    assert reasons(health) == {"new.safetensors": "truncated"}


def test_the_header_check_reads_the_header_not_the_file(tmp_path: Path) -> None:
    big = tmp_path / "big.safetensors"
    header = b'{"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 50000000]}}'
    with big.open("wb") as handle:
        handle.write(len(header).to_bytes(8, "little") + header)
        handle.truncate(8 + len(header) + 50_000_000)  # sparse: nothing to read anyway
    assert check_model_file(big) is None
    os.truncate(big, 8 + len(header) + 49_999_999)
    problem = check_model_file(big)
    assert problem is not None and problem.reason == "truncated"


def test_a_corrupt_health_state_just_means_checking_again(tmp_path: Path) -> None:
    root = comfy(tmp_path)
    (root / "models" / "loras" / "a.safetensors").write_bytes(GOOD)
    (root / "models" / "checkpoints" / "c.safetensors").write_bytes(b"")
    document = health_of(root).to_state_document()
    (key,) = [key for key in document["judged"] if key.startswith("loras:")]
    document["judged"][key][1] = "not base64!"
    opened: list[Path] = []
    health = health_of(root, previous_verdicts(document), opened)
    assert [p.name for p in opened] == ["a.safetensors"]  # only the damaged record's files
    assert reasons(health) == {"c.safetensors": "empty"}
    assert health.changed
    for nonsense in (
        {"schema_version": 2, "files": {"a": [1, 2.0]}},
        None,
        {"schema_version": 4, "judged": {"loras:x": "nonsense", "b": [1]}},
    ):
        remembered = previous_verdicts(nonsense)  # type: ignore[arg-type]
        assert remembered.get("loras:x") is None and remembered.get("b") is None


def test_a_removed_file_is_forgotten_and_the_state_is_saved_again(tmp_path: Path) -> None:
    root = comfy(tmp_path)
    loras = root / "models" / "loras"
    (loras / "good.safetensors").write_bytes(GOOD)
    (loras / "empty.safetensors").write_bytes(b"")
    remembered = previous_verdicts(health_of(root).to_state_document())
    assert not health_of(root, remembered).changed
    (loras / "empty.safetensors").unlink()
    opened: list[Path] = []
    health = health_of(root, remembered, opened)
    assert opened == [] and health.changed and reasons(health) == {}


def test_unfinished_downloads_of_other_tools_are_found_beside_a_missing_model(
    tmp_path: Path,
) -> None:
    root = tmp_path / "loras"
    (root / "sdxl").mkdir(parents=True)
    (root / "sdxl" / "x.safetensors.part").write_bytes(b"abc")
    (root / "sdxl" / "x.safetensors.crdownload").write_bytes(b"abc")
    found = leftovers_beside([str(root)], "sdxl/x.safetensors")
    assert sorted(p.name for p in found) == ["x.safetensors.crdownload", "x.safetensors.part"]


def test_a_workflow_needing_a_broken_file_is_not_ready_and_says_why(tmp_path: Path) -> None:
    from watchman.comfy.workflow_model import ModelReference, NodeUse, ParsedWorkflow
    from watchman.stages.inventory.model_health import broken_lookup
    from watchman.stages.needs import assess_workflow

    root = comfy(tmp_path)
    (root / "models" / "loras" / "cut.safetensors").write_bytes(GOOD[:3000])
    (root / "models" / "loras" / "good.safetensors").write_bytes(GOOD)
    inventory = scan_models(root, environ={}, home_dir=root)
    health = check_model_health(inventory)

    def workflow(value: str) -> ParsedWorkflow:
        ref = ModelReference("1", "LoraLoader", "lora_name", value, "loras", False, False, None)
        node = NodeUse("1", "LoraLoader", False, False, None, None, None)
        return ParsedWorkflow("ui", (node,), (ref,), (), frozenset(), ())

    lookup = broken_lookup(health)
    cut = assess_workflow(workflow("cut.safetensors"), inventory, {"LoraLoader"}, None, lookup)
    good = assess_workflow(workflow("good.safetensors"), inventory, {"LoraLoader"}, None, lookup)
    assert cut.status == "missing_models"
    (need,) = cut.missing_models
    assert need.state == "broken" and "truncated" in (need.problem or "")
    assert good.status == "ready"


def test_files_of_one_folder_type_in_two_roots_are_remembered_per_root(tmp_path: Path) -> None:
    first, second = tmp_path / "models" / "loras", tmp_path / "extra" / "loras"
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    (first / "a.safetensors").write_bytes(GOOD)
    (second / "b.safetensors").write_bytes(b"")
    (first / "c.safetensors").write_bytes(GOOD[:100])

    def model(root: Path, name: str) -> ModelFile:
        stat = (root / name).stat()
        return ModelFile("loras", name, str(root), stat.st_size, stat.st_mtime)

    # Even with a root's files not side by side, each root is one record.
    files = (model(first, "a.safetensors"), model(second, "b.safetensors"),
             model(first, "c.safetensors"))  # fmt: skip
    inventory = ModelInventory({"loras": (str(first), str(second))}, {"loras": files})
    cold = check_model_health(inventory)
    assert sorted(cold.judged) == sorted([f"loras:{first}", f"loras:{second}"])
    assert reasons(cold) == {"b.safetensors": "empty", "c.safetensors": "truncated"}
    opened: list[Path] = []

    def counting(path: Path, size: int | None = None) -> FileProblem | None:
        opened.append(path)
        return check_model_file(path, size)

    again = check_model_health(
        inventory, previous_verdicts(cold.to_state_document()), check=counting
    )
    assert opened == [] and not again.changed and reasons(again) == reasons(cold)


def test_a_stop_ends_the_check_before_it_opens_another_file(tmp_path: Path) -> None:
    import threading

    import pytest

    from watchman.errors import CycleInterrupted

    root = comfy(tmp_path)
    for number in range(3):
        (root / "models" / "loras" / f"l{number}.safetensors").write_bytes(GOOD)
    stop = threading.Event()
    opened: list[Path] = []

    def stopping_after_one(path: Path, size: int | None = None) -> FileProblem | None:
        opened.append(Path(path))
        stop.set()  # the person pressed Ctrl-C while the first file was read
        return check_model_file(path, size)

    inventory = scan_models(root, environ={}, home_dir=root)
    with pytest.raises(CycleInterrupted, match="while checking"):
        check_model_health(inventory, None, check=stopping_after_one, stop_event=stop)
    assert len(opened) == 1


def test_a_header_longer_than_the_first_read_is_read_to_its_end(tmp_path: Path) -> None:
    # 300 tensors: a header of ~25 KB, well past the 4 KiB the text checks look at.
    tensors = {
        f"layer.{index}.weight": {
            "dtype": "U8",
            "shape": [10],
            "data_offsets": [index * 10, index * 10 + 10],
        }
        for index in range(300)
    }
    header = orjson.dumps(tensors)
    assert len(header) > 4096 * 4
    whole = tmp_path / "long_header.safetensors"
    whole.write_bytes(len(header).to_bytes(8, "little") + header + bytes(3000))
    assert check_model_file(whole) is None
    os.truncate(whole, 8 + len(header) + 2999)
    problem = check_model_file(whole)
    assert problem is not None and problem.reason == "truncated"
    os.truncate(whole, 8 + len(header) - 1)
    problem = check_model_file(whole)
    assert problem is not None and problem.reason == "truncated"


def test_the_health_kept_for_the_rest_of_a_cycle_still_knows_every_broken_file(
    tmp_path: Path,
) -> None:
    root = comfy(tmp_path)
    loras = root / "models" / "loras"
    (loras / "good.safetensors").write_bytes(GOOD)
    (loras / "empty.safetensors").write_bytes(b"")
    health = health_of(root)
    slim = health.broken_only()
    assert slim.broken == health.broken and not slim.judged
    assert reasons(slim) == {"empty.safetensors": "empty"}


def test_a_slow_disk_gives_the_same_verdicts_with_each_file_opened_once(tmp_path: Path) -> None:
    import threading

    loras = tmp_path / "loras"
    loras.mkdir()
    models = []
    for number in range(900):  # past the first two runs, so the rest goes to threads
        body = b"" if number % 97 == 0 else GOOD[: 100 + number] if number % 89 == 0 else GOOD
        (loras / f"l{number}.safetensors").write_bytes(body)
        models.append(ModelFile("loras", f"l{number}.safetensors", str(loras), len(body), 1.0))
    # The same files also listed as another folder type: each is still opened once.
    inventory = ModelInventory(
        {"loras": (str(loras),), "lycoris": (str(loras),)},
        {"loras": tuple(models), "lycoris": tuple(models)},
    )
    opened: dict[str, set[str]] = {}
    lock = threading.Lock()

    def counting(path: str, size: int | None = None) -> FileProblem | None:
        with lock:
            opened.setdefault(path, set()).add(threading.current_thread().name)
        return check_model_file(path, size)

    clock = iter(range(10**6))
    slow = check_model_health(inventory, check=counting, timer=lambda: float(next(clock)))
    threads = set().union(*opened.values())
    assert len(opened) == 900 and slow.opened == 900
    assert any(name.startswith("file-judging") for name in threads)
    fast = check_model_health(inventory, timer=lambda: 0.0)
    assert slow.broken == fast.broken and len(slow.broken) == 10 + 10
    assert slow.to_state_document() == fast.to_state_document()
