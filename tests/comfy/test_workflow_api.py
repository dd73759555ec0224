"""Reading API-format prompts, bare and wrapped."""

from __future__ import annotations

import json
from typing import Any

import pytest

from watchman.comfy.workflow import parse_workflow_bytes

PROMPT: dict[str, Any] = {
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15\\v1-5.ckpt"}},
    "5": {
        "class_type": "LoraLoader",
        "inputs": {"lora_name": "ink.safetensors", "model": ["4", 0], "clip": ["4", 1]},
    },
    "6": {
        "class_type": "CLIPTextEncode",
        "inputs": {"text": "a cat, embedding:EasyNegative", "clip": ["5", 1]},
    },
    "7": {"class_type": "VAELoader", "inputs": {"vae_name": ["8", 0]}},
    "8": {"class_type": "Pack Switch", "inputs": {"choice": "vae/ft-mse.pt"}},
}


@pytest.mark.parametrize(
    "document",
    [PROMPT, {"prompt": PROMPT, "client_id": "x"}, {"input": {"workflow": PROMPT}}],
    ids=["bare", "prompt-wrapped", "runpod-wrapped"],
)
def test_api_prompts_are_read_bare_or_wrapped(document: dict[str, Any]) -> None:
    parsed = parse_workflow_bytes(json.dumps(document).encode(), "api.json")
    assert parsed.format == "api"
    assert [(ref.node_id, ref.input, ref.value, ref.folder) for ref in parsed.model_refs] == [
        ("4", "ckpt_name", "sd15\\v1-5.ckpt", "checkpoints"),
        ("5", "lora_name", "ink.safetensors", "loras"),
        ("6", "text", "EasyNegative", "embeddings"),
        ("8", "choice", "vae/ft-mse.pt", None),
    ]
    assert parsed.node_types == (
        "CLIPTextEncode",
        "CheckpointLoaderSimple",
        "LoraLoader",
        "Pack Switch",
        "VAELoader",
    )


def test_linked_inputs_of_an_api_prompt_are_never_values() -> None:
    parsed = parse_workflow_bytes(json.dumps(PROMPT).encode(), "api.json")
    assert all(ref.node_id != "7" for ref in parsed.model_refs)


def test_api_nodes_carry_no_state_or_pack_ids() -> None:
    parsed = parse_workflow_bytes(json.dumps(PROMPT).encode(), "api.json")
    assert not any(use.bypassed or use.muted or use.cnr_id for use in parsed.nodes)
