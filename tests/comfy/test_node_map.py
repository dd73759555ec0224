"""Missing node types are mapped to the packs that provide them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from watchman.comfy.node_map import (
    ExtensionNodeMap,
    PackCandidate,
    installed_map_paths,
    pack_for_missing_node,
)

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
CORPUS_MAP = CORPUS / "comfyui" / "extension-node-map.json"

IMPACT = "https://github.com/ltdrdata/ComfyUI-Impact-Pack"
GGUF = "https://github.com/city96/ComfyUI-GGUF"
GGUF_COPY = "https://github.com/aaa/gguf-copy"  # sorts before the preferred pack
DERFUU = "https://github.com/Derfuu/Derfuu_ComfyUI_ModdedNodes"
CORE = "https://github.com/comfyanonymous/ComfyUI"

SMALL_MAP = {
    IMPACT: [["FaceDetailer", "SAMLoader"], {"title_aux": "ComfyUI Impact Pack"}],
    GGUF: [["UnetLoaderGGUF"], {"title_aux": "ComfyUI-GGUF", "preemptions": ["UnetLoaderGGUF"]}],
    GGUF_COPY: [["UnetLoaderGGUF", "CopyOnly"], {"title_aux": "GGUF copy"}],
    DERFUU: [["DF_Int"], {"title_aux": "Derfuu nodes", "nodename_pattern": "^DF_"}],
    "https://github.com/bad/regex": [[], {"nodename_pattern": "(unclosed"}],
    "https://github.com/js/regex": [[], {"nodename_pattern": "(?<name>x)"}],
    CORE: [["KSampler", "EmptyHunyuanImageLatent"], {"title_aux": "ComfyUI"}],
    "https://github.com/malformed/entry": "not a list",
}


@pytest.fixture
def small_map() -> ExtensionNodeMap:
    return ExtensionNodeMap.from_document(SMALL_MAP, source="fixture")


def test_a_class_one_pack_defines_is_found(small_map: ExtensionNodeMap) -> None:
    lookup = small_map.lookup("FaceDetailer")
    assert lookup.status == "found"
    assert lookup.candidates == (PackCandidate(IMPACT, "ComfyUI Impact Pack"),)


def test_a_class_several_packs_define_is_uncertain_preferred_first(
    small_map: ExtensionNodeMap,
) -> None:
    lookup = small_map.lookup("UnetLoaderGGUF")
    assert lookup.status == "uncertain"
    assert [c.url for c in lookup.candidates] == [GGUF, GGUF_COPY]
    assert "prefers" in lookup.reason


def test_a_pattern_only_match_is_uncertain(small_map: ExtensionNodeMap) -> None:
    lookup = small_map.lookup("DF_Float_Add")
    assert lookup.status == "uncertain"
    assert lookup.candidates == (PackCandidate(DERFUU, "Derfuu nodes"),)
    assert "pattern" in lookup.reason


def test_bad_patterns_are_skipped_and_unknown_classes_are_unknown(
    small_map: ExtensionNodeMap,
) -> None:
    assert len(small_map.patterns) == 1
    assert small_map.lookup("(unclosed").status == "unknown"
    assert small_map.lookup("NobodyDefinesThis").status == "unknown"
    assert small_map.lookup("DF_" + "x" * 300).status == "unknown"


@pytest.mark.parametrize(
    "pattern",
    ["(a+)+$", "(a|aa)*$", "(a+){20}$", "(?:a*)*!", "a?" * 30 + "a" * 30, ".*a.*b.*c"],
)
def test_a_pattern_that_could_backtrack_for_minutes_is_skipped(pattern: str) -> None:
    # Each would hold the cycle far longer than its life on a 30-letter node type.
    hostile = ExtensionNodeMap.from_document(
        {"https://github.com/x/y": [[], {"nodename_pattern": pattern}]}
    )
    assert hostile.patterns == ()
    assert hostile.lookup("a" * 30 + "!").status == "unknown"


@pytest.mark.parametrize(
    "pattern",
    [
        "^DF_",
        r" \(lab\)$",
        "MiniMax.*BMO|BMO.*MiniMax",
        "^(?:Prompts|Anything) Everywhere",
        "(ab)?c",
    ],
)
def test_patterns_like_the_map_s_own_are_kept(pattern: str) -> None:
    kept = ExtensionNodeMap.from_document(
        {"https://github.com/x/y": [[], {"nodename_pattern": pattern}]}
    )
    assert len(kept.patterns) == 1


def test_a_non_object_document_gives_an_empty_map() -> None:
    assert ExtensionNodeMap.from_document([1, 2]).lookup("FaceDetailer").status == "unknown"


def test_comfy_core_cnr_id_means_comfyui_is_outdated(small_map: ExtensionNodeMap) -> None:
    source = pack_for_missing_node("EmptyHunyuanImageLatent", "comfy-core", None, small_map)
    assert source.status == "outdated_comfyui"
    assert source.pack is None
    assert "update ComfyUI" in source.reason


def test_a_class_the_map_lists_under_comfyui_itself_means_outdated(
    small_map: ExtensionNodeMap,
) -> None:
    source = pack_for_missing_node("EmptyHunyuanImageLatent", None, None, small_map)
    assert source.status == "outdated_comfyui"
    assert source.candidates[0].url == CORE


def test_a_cnr_id_names_the_registry_pack_first(small_map: ExtensionNodeMap) -> None:
    source = pack_for_missing_node("UnetLoaderGGUF", "ComfyUI-GGUF", None, small_map)
    assert source.status == "found"
    assert source.pack == "https://registry.comfy.org/nodes/ComfyUI-GGUF"
    assert [c.url for c in source.candidates] == [source.pack, GGUF, GGUF_COPY]
    assert source.candidates[0].title == "ComfyUI-GGUF"


def test_an_aux_id_names_the_github_repository(small_map: ExtensionNodeMap) -> None:
    source = pack_for_missing_node("Whatever", None, "kijai/ComfyUI-KJNodes", small_map)
    assert source.status == "found"
    assert source.pack == "https://github.com/kijai/ComfyUI-KJNodes"


def test_malformed_ids_are_ignored_and_the_map_answers(small_map: ExtensionNodeMap) -> None:
    source = pack_for_missing_node("CopyOnly", "../../etc", "not an id", small_map)
    assert source.status == "found"
    assert source.pack == GGUF_COPY


def test_the_map_answers_uncertain_and_unknown_without_a_pack(
    small_map: ExtensionNodeMap,
) -> None:
    uncertain = pack_for_missing_node("UnetLoaderGGUF", None, None, small_map)
    assert (uncertain.status, uncertain.pack, len(uncertain.candidates)) == ("uncertain", None, 2)
    unknown = pack_for_missing_node("Nope", None, None, small_map)
    assert (unknown.status, unknown.pack, unknown.candidates) == ("unknown", None, ())
    no_map = pack_for_missing_node("FaceDetailer", None, None, None)
    assert no_map.status == "unknown"
    assert "no extension-node-map" in no_map.reason


@pytest.fixture(scope="module")
def corpus_map() -> ExtensionNodeMap:
    if not CORPUS_MAP.is_file():
        pytest.skip(f"../shared/corpus is absent: {CORPUS_MAP} not found")
    return ExtensionNodeMap.from_document(json.loads(CORPUS_MAP.read_bytes()), str(CORPUS_MAP))


def test_the_real_map_finds_impact_pack_classes(corpus_map: ExtensionNodeMap) -> None:
    lookup = corpus_map.lookup("FaceDetailer")
    assert (lookup.status, [c.url for c in lookup.candidates]) == ("found", [IMPACT])


def test_the_real_map_keeps_every_definer_of_a_shared_class(corpus_map: ExtensionNodeMap) -> None:
    lookup = corpus_map.lookup("DWPreprocessor")
    assert lookup.status == "uncertain"
    # comfyui_controlnet_aux preempts it, though another definer sorts first by name.
    assert lookup.candidates[0].url == "https://github.com/Fannovel16/comfyui_controlnet_aux"
    assert len(lookup.candidates) >= 2
    gguf = corpus_map.lookup("UnetLoaderGGUF")
    assert (gguf.status, gguf.candidates[0].url) == ("uncertain", GGUF)


def test_the_real_map_patterns_compile_and_match(corpus_map: ExtensionNodeMap) -> None:
    assert len(corpus_map.patterns) > 10
    written = [
        entry[1]["nodename_pattern"]
        for entry in json.loads(CORPUS_MAP.read_text(encoding="utf-8")).values()
        if isinstance(entry, list)
        and len(entry) > 1
        and isinstance(entry[1], dict)
        and isinstance(entry[1].get("nodename_pattern"), str)
    ]
    assert len(corpus_map.patterns) == len(written)  # none of the real ones is skipped
    lookup = corpus_map.lookup("DF_Some_Future_Node")
    assert lookup.status == "uncertain"
    assert DERFUU in [c.url for c in lookup.candidates]


# --- loading: installed ComfyUI-Manager, state copy, fetch -------------------------------


def write_map(path: Path, document: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def test_an_installed_manager_folder_or_package_is_found(tmp_path: Path) -> None:
    root = tmp_path / "ComfyUI"
    folder = write_map(root / "custom_nodes" / "ComfyUI-Manager" / "extension-node-map.json", {})
    write_map(root / "custom_nodes" / "comfyui-manager.disabled" / "extension-node-map.json", {})
    package = write_map(
        root / ".venv/lib/python3.12/site-packages/comfyui_manager/extension-node-map.json", {}
    )
    portable = write_map(
        tmp_path / "python_embeded/Lib/site-packages/comfyui_manager/extension-node-map.json", {}
    )
    assert installed_map_paths(root) == [folder, package, portable]


def test_with_a_base_directory_its_manager_comes_first_and_the_roots_still_counts(
    tmp_path: Path,
) -> None:
    root, base = tmp_path / "app" / "ComfyUI", tmp_path / "files"
    shipped = write_map(root / "custom_nodes" / "ComfyUI-Manager" / "extension-node-map.json", {})
    own = write_map(base / "custom_nodes" / "comfyui-manager" / "extension-node-map.json", {})
    in_base_venv = write_map(
        base / ".venv/lib/python3.12/site-packages/comfyui_manager/extension-node-map.json", {}
    )
    assert installed_map_paths(root, base) == [own, shipped, in_base_venv]
