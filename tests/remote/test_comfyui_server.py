"""The ComfyUI server client, over real sockets against a small local server."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.local_http import answering, refused_url
from watchman.errors import BackendError
from watchman.remote.comfyui_server import (
    ComfyUIServer,
    combo_values,
    parse_object_info,
    server_gateway,
)

OBJECT_INFO = {
    "CheckpointLoaderSimple": {
        "input": {
            "required": {
                "ckpt_name": [["sd_xl_base_1.0.safetensors", "SDXL\\juggernaut.safetensors"], {}]
            }
        },
        "output": ["MODEL", "CLIP", "VAE"],
    },
    "LoraLoader": {
        "input": {
            "required": {
                "model": ["MODEL"],
                "lora_name": ["COMBO", {"options": ["detail.safetensors"], "multiselect": False}],
                "strength_model": ["FLOAT", {"default": 1.0}],
            },
            "optional": {"remote_list": ["COMBO", {"remote": {"route": "/x"}}]},
        }
    },
    "UpscaleModelLoader": {
        "input": {"required": {"model_name": [["4x.pth"]]}, "optional": {"bits": [[8, 16]]}}
    },
    "KSampler": {"input": {"required": {"seed": ["INT", {"default": 0}]}}},
    "BrokenNode": "not a dict",
}


class Replay:
    """What the local server answers: a status, a body, and an optional stall."""

    def __init__(self) -> None:
        self.status = 200
        self.body = json.dumps(OBJECT_INFO).encode()
        self.stall = threading.Event()
        self.stalling = False
        self.delay = 0.0
        self.paths: list[str] = []


@pytest.fixture
def replay() -> Iterator[tuple[Replay, str]]:
    state = Replay()

    def respond(path: str) -> tuple[int, bytes]:
        state.paths.append(path)
        if state.delay:
            state.stall.wait(state.delay)  # ComfyUI building its answer
        if state.stalling:
            # Hold the answer until the test ends, so the client's timeout fires first.
            state.stall.wait(10)
        return state.status, state.body

    with answering(respond) as server:
        try:
            yield state, f"{server.url}/"
        finally:
            state.stall.set()


def test_object_info_gives_node_types_and_both_combo_formats(
    replay: tuple[Replay, str],
) -> None:
    state, url = replay
    with httpx.Client() as client:
        info = ComfyUIServer(server_gateway(client, 5), url, timeout=5).object_info()
    assert state.paths == ["/object_info"]
    assert info.node_types == {
        "CheckpointLoaderSimple",
        "LoraLoader",
        "UpscaleModelLoader",
        "KSampler",
        "BrokenNode",
    }
    assert info.choices_for("CheckpointLoaderSimple", "ckpt_name") == (
        "sd_xl_base_1.0.safetensors",
        "SDXL\\juggernaut.safetensors",
    )
    assert info.choices_for("LoraLoader", "lora_name") == ("detail.safetensors",)
    assert info.choices_for("UpscaleModelLoader", "bits") == ("8", "16")
    assert info.choices_for("LoraLoader", "strength_model") is None
    assert info.choices_for("LoraLoader", "remote_list") is None
    assert "KSampler" not in info.input_choices


def test_a_refused_port_is_unreachable() -> None:
    with httpx.Client() as client, pytest.raises(BackendError) as raised:
        ComfyUIServer(server_gateway(client, 2), refused_url(), timeout=2).object_info()
    assert raised.value.reason == "unreachable"


def test_a_slow_server_is_a_timeout(replay: tuple[Replay, str]) -> None:
    state, url = replay
    state.stalling = True
    with httpx.Client() as client, pytest.raises(BackendError) as raised:
        ComfyUIServer(server_gateway(client, 0.2), url, timeout=0.2).object_info()
    assert raised.value.reason == "timeout"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, b'{"KSampler": {"input": '),
        (200, b"[1, 2]"),
        (500, b'{"error": "boom"}'),
        (404, b"Not Found"),
    ],
)
def test_malformed_json_or_a_bad_status_is_a_bad_response(
    replay: tuple[Replay, str], status: int, body: bytes
) -> None:
    state, url = replay
    state.status, state.body = status, body
    with httpx.Client() as client, pytest.raises(BackendError) as raised:
        ComfyUIServer(server_gateway(client, 5), url, timeout=5).object_info()
    assert raised.value.reason == "bad_response"


def test_parsing_is_lenient_about_odd_entries() -> None:
    info = parse_object_info({"A": {"input": None}, "B": {"input": {"required": []}}, "C": 3})
    assert info.node_types == {"A", "B", "C"}
    assert dict(info.input_choices) == {}


def test_only_list_and_combo_specs_are_combos() -> None:
    assert combo_values([["a", None, True, "b"], {}]) == ("a", "b")
    assert combo_values(["COMBO", {"options": ["x"]}]) == ("x",)
    assert combo_values(["STRING", {"multiline": True}]) is None
    assert combo_values([]) is None
    assert combo_values("MODEL") is None


def test_an_unreachable_server_is_one_log_line_that_says_the_fallback_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    from watchman.stages.inventory.nodes import NodeInventory
    from watchman.stages.inventory.stock import installed_nodes

    with httpx.Client() as client, caplog.at_level(logging.INFO):
        server = ComfyUIServer(server_gateway(client, 2), refused_url(), timeout=2)
        installed = installed_nodes(server, NodeInventory(frozenset({"KSampler"}), ()))
    assert installed.source == "static"
    [line] = [r.getMessage() for r in caplog.records if "ComfyUI server not used" in r.getMessage()]
    assert line.count("static node inventory") == 1, line


def test_a_live_server_keeps_the_packs_frontend_only_nodes(replay: tuple[Replay, str]) -> None:
    # /object_info lists what Python registers; KJNodes' SetNode lives on the page alone.
    from watchman.stages.inventory.nodes import NodeInventory, NodePack
    from watchman.stages.inventory.stock import installed_nodes

    _, url = replay
    kj = NodePack(
        "ComfyUI-KJNodes",
        "/c/KJ",
        "folder",
        True,
        None,
        None,
        None,
        (),
        frontend_nodes=("SetNode",),
    )
    off = NodePack(
        "Off", "/c/Off.disabled", "folder", False, None, None, None, (), frontend_nodes=("Gone",)
    )
    with httpx.Client() as client:
        server = ComfyUIServer(server_gateway(client, 5), url, timeout=5)
        installed = installed_nodes(server, NodeInventory(frozenset(), (kj, off)))
    assert installed.source == "object_info"
    assert {"KSampler", "SetNode"} <= installed.types
    assert "Gone" not in installed.types


def test_inputs_listing_the_same_files_share_one_kept_list() -> None:
    files = [f"model_{n}.safetensors" for n in range(100)]
    document = {
        f"Loader{k}": {"input": {"required": {"lora_name": [list(files), {}]}}} for k in range(5)
    }
    info = parse_object_info(document)
    kept = {id(info.choices_for(f"Loader{k}", "lora_name")) for k in range(5)}
    assert len(kept) == 1
    assert info.choices_for("Loader3", "lora_name") == tuple(files)


def test_the_answer_digest_is_the_one_a_full_read_gives_and_follows_the_answer(
    replay: tuple[Replay, str],
) -> None:
    state, url = replay
    with httpx.Client() as client:
        server = ComfyUIServer(server_gateway(client, 5), url, timeout=5)
        digest = server.answer_digest()
        info = server.object_info()
        assert info.answer_digest == digest
        assert info.answer_bytes == len(state.body)
        assert len(digest) == 16
        state.body = state.body.replace(b"4x.pth", b"8x.pth")
        assert server.answer_digest() != digest


def test_an_answer_python_wrote_with_infinity_is_read(replay: tuple[Replay, str]) -> None:
    # ComfyUI answers with Python's json.dumps: a float default of inf is "Infinity".
    state, url = replay
    state.body = b'{"Clamp": {"input": {"required": {"high": ["FLOAT", {"max": Infinity}]}}}}'
    with httpx.Client() as client:
        info = ComfyUIServer(server_gateway(client, 5), url, timeout=5).object_info()
    assert info.node_types == {"Clamp"}


def test_an_answer_over_the_size_cap_is_a_bad_response(
    replay: tuple[Replay, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from watchman.remote import comfyui_server

    _, url = replay
    monkeypatch.setattr(comfyui_server, "MAX_OBJECT_INFO_BYTES", 100)
    with httpx.Client() as client, pytest.raises(BackendError) as raised:
        ComfyUIServer(server_gateway(client, 5), url, timeout=5).object_info()
    assert raised.value.reason == "bad_response"
    assert "bytes" in str(raised.value)


def test_a_later_entry_of_a_node_type_replaces_the_earlier(replay: tuple[Replay, str]) -> None:
    state, url = replay
    state.body = (
        b'{"L": {"input": {"required": {"n": [["old.pt"], {}]}}},'
        b' "L": {"input": {"required": {"n": [["new.pt"], {}]}}}}'
    )
    with httpx.Client() as client:
        info = ComfyUIServer(server_gateway(client, 5), url, timeout=5).object_info()
    assert info.choices_for("L", "n") == ("new.pt",)


def test_inputs_read_one_at_a_time_share_one_list_and_rebuild_the_document() -> None:
    from watchman.remote.comfyui_server import node_entries
    from watchman.remote.json_members import object_leaves

    files = [f"lora_{n}.safetensors" for n in range(50)]
    document = {
        "Stacker": {
            "input": {
                "required": {f"lora_{n}": [list(files), {}] for n in range(3)},
                "optional": {"more": ["COMBO", {"options": list(files)}]},
            },
            "input_order": {"required": ["lora_0", "lora_1", "lora_2"]},
        },
        "Broken": "not a dict",
        "Empty": {},
    }
    entries = dict(node_entries(object_leaves([json.dumps(document).encode()], 4)))
    assert entries == document
    inputs = entries["Stacker"]["input"]
    kept = {id(inputs["required"][f"lora_{n}"][0]) for n in range(3)}
    kept.add(id(inputs["optional"]["more"][1]["options"]))
    assert len(kept) == 1


def test_the_content_digest_follows_lists_and_layouts_not_defaults() -> None:
    def info(default: str, choices: list[str]) -> Any:
        return parse_object_info(
            {
                "Cache": {"input": {"required": {"suffix": ["STRING", {"default": default}]}}},
                "Loader": {"input": {"required": {"name": [choices, {}]}}},
            }
        )

    base = info("1_cache", ["a.pt"])
    assert base.content_digest == info("2_cache", ["a.pt"]).content_digest
    assert base.content_digest != info("1_cache", ["a.pt", "b.pt"]).content_digest
    assert base.content_digest != parse_object_info({"Cache": {}}).content_digest
    assert len(base.content_digest) == 16


def test_each_nodes_required_sockets_and_output_flag_are_read_and_digested() -> None:
    def info(required: dict[str, Any], output: bool) -> Any:
        return parse_object_info(
            {
                "Decode": {"input": {"required": required}, "output_node": False},
                "Save": {"input": {"required": {"images": ["IMAGE"]}}, "output_node": output},
            }
        )

    base = info({"samples": ["LATENT"], "vae": ["VAE"]}, True)
    decode = base.sockets_for("Decode")
    assert decode is not None and decode.required == {"samples", "vae"} and not decode.output
    save = base.sockets_for("Save")
    assert save is not None and save.output
    assert base.sockets_for("Elsewhere") is None
    assert base.content_digest == info({"vae": ["VAE"], "samples": ["LATENT"]}, True).content_digest
    assert base.content_digest != info({"samples": ["LATENT"]}, True).content_digest
    assert (
        base.content_digest != info({"samples": ["LATENT"], "vae": ["VAE"]}, False).content_digest
    )


def test_a_server_slow_to_build_its_answer_is_waited_for_as_long_as_the_setting_says(
    replay: tuple[Replay, str],
) -> None:
    state, url = replay
    state.delay = 0.6
    with httpx.Client() as client:
        patient = ComfyUIServer(server_gateway(client, 0.2, None, 5), url, 0.2, 5)
        assert "KSampler" in patient.object_info().node_types
        hasty = ComfyUIServer(server_gateway(client, 0.2, None, 0.3), url, 0.2, 0.3)
        with pytest.raises(BackendError) as raised:
            hasty.object_info()
    assert raised.value.reason == "timeout"
    assert "within 0.3 s (comfyui.answer_timeout_seconds)" in str(raised.value)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        st.binary(max_size=2048),
        st.builds(
            lambda d: json.dumps(d).encode(),
            st.dictionaries(st.text(max_size=6), st.dictionaries(st.just("input"), st.just({}))),
        ),
    )
)
def test_any_answer_is_counted_and_hashed_whole_or_refused_as_a_backend_error(
    replay: tuple[Replay, str], body: bytes
) -> None:
    # A stranger's server: whatever bytes it sends, the digest and the length a read
    # records are the whole answer's (a changed answer is kept by its length), and a
    # body that is not an object_info document is a BackendError, never anything else.
    state, url = replay
    state.body = body
    expected = hashlib.sha256(body).hexdigest()[:16]
    with httpx.Client() as client:
        server = ComfyUIServer(server_gateway(client, 5), url, timeout=5)
        assert server.answer_digest() == expected
        try:
            info = server.object_info()
        except BackendError:
            return
    assert (info.answer_digest, info.answer_bytes) == (expected, len(body))


def test_the_content_digest_follows_a_number_inputs_range() -> None:
    def info(maximum: int) -> Any:
        return parse_object_info(
            {"Latent": {"input": {"required": {"width": ["INT", {"min": 16, "max": maximum}]}}}}
        )

    assert info(16384).content_digest == info(16384).content_digest
    assert info(16384).content_digest != info(32768).content_digest
