"""Generate a synthetic ComfyUI tree for the scale benchmarks (``bench/run.py``).

The tree has what comfywatchman reads: ``main.py``, ``nodes.py`` (a literal
``NODE_CLASS_MAPPINGS`` of core node names), ``comfy/``, N empty model files spread over
the folder types the way real libraries are (loras in deep creator/category folders,
checkpoints by base model, sidecar previews next to some of them), M custom node packs
(``__init__.py`` with ``NODE_CLASS_MAPPINGS`` plus a few node modules; some disabled), and W
workflows in ``user/default/workflows/`` (UI format with 10-40 nodes and links, a few with
subgraphs, some in API format) whose loaders name a mix of present, missing and misplaced
files. The same options and seed always give the same tree.

Usage: ``python bench/generate_tree.py --out /tmp/tree --models 10000 --workflows 200``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import struct
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Run from a checkout without installing the package: the repository root on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from watchman.comfy.loaders import LOADERS

# Core loaders the workflows use; each must be in the loader table, so the widget order
# the generator writes is the one the parser reads.
CORE_LOADERS = (
    "CheckpointLoaderSimple",
    "LoraLoader",
    "LoraLoaderModelOnly",
    "VAELoader",
    "CLIPLoader",
    "DualCLIPLoader",
    "UNETLoader",
    "ControlNetLoader",
    "CLIPVisionLoader",
    "UpscaleModelLoader",
    "StyleModelLoader",
    "HypernetworkLoader",
    "DiffusersLoader",
    "unCLIPCheckpointLoader",
    "ImageOnlyCheckpointLoader",
)
CORE_OTHER_NODES = (
    "KSampler",
    "KSamplerAdvanced",
    "CLIPTextEncode",
    "CLIPSetLastLayer",
    "VAEDecode",
    "VAEEncode",
    "EmptyLatentImage",
    "LatentUpscale",
    "LatentUpscaleBy",
    "SaveImage",
    "PreviewImage",
    "LoadImage",
    "ImageScale",
    "ImageScaleBy",
    "ImageInvert",
    "ConditioningCombine",
    "ConditioningSetArea",
    "ControlNetApplyAdvanced",
    "ImageUpscaleWithModel",
    "FluxGuidance",
    "ModelSamplingFlux",
    "CLIPVisionEncode",
    "StyleModelApply",
)
# Nodes added to pad a workflow to its size; their widgets name no files.
FILLER_NODES = (
    "PreviewImage",
    "ImageScale",
    "ImageScaleBy",
    "ImageInvert",
    "LatentUpscaleBy",
    "ConditioningCombine",
    "ConditioningSetArea",
    "Note",
    "Reroute",
)
FILLER_WIDGETS: dict[str, list[Any]] = {
    "PreviewImage": [],
    "ImageScale": ["nearest-exact", 1024, 1024, "disabled"],
    "ImageScaleBy": ["nearest-exact", 1.5],
    "ImageInvert": [],
    "LatentUpscaleBy": ["nearest-exact", 1.5],
    "ConditioningCombine": [],
    "ConditioningSetArea": [64, 64, 0, 0, 1.0],
    "Note": ["Remember to set the seed; the lora works best at 0.8 strength."],
    "Reroute": [],
}

# folder type, directory under the ComfyUI root, share of the models, extensions, layout.
FOLDER_PLAN: tuple[tuple[str, str, float, tuple[str, ...], str], ...] = (
    ("checkpoints", "models/checkpoints", 0.08, (".safetensors", ".ckpt"), "base"),
    ("loras", "models/loras", 0.50, (".safetensors",), "deep"),
    ("embeddings", "models/embeddings", 0.08, (".pt", ".safetensors"), "base"),
    ("vae", "models/vae", 0.02, (".safetensors", ".pt"), "flat"),
    ("text_encoders", "models/clip", 0.02, (".safetensors",), "flat"),
    ("text_encoders", "models/text_encoders", 0.01, (".safetensors",), "flat"),
    ("diffusion_models", "models/unet", 0.02, (".safetensors", ".gguf"), "base"),
    ("diffusion_models", "models/diffusion_models", 0.03, (".safetensors",), "base"),
    ("controlnet", "models/controlnet", 0.05, (".safetensors", ".pth"), "base"),
    ("upscale_models", "models/upscale_models", 0.03, (".pth", ".safetensors"), "flat"),
    ("clip_vision", "models/clip_vision", 0.02, (".safetensors",), "flat"),
    ("style_models", "models/style_models", 0.01, (".safetensors",), "flat"),
    ("hypernetworks", "models/hypernetworks", 0.02, (".pt",), "base"),
    ("ipadapter", "models/ipadapter", 0.02, (".safetensors", ".bin"), "flat"),
    ("ultralytics", "models/ultralytics/bbox", 0.02, (".pt",), "flat"),
    ("sams", "models/sams", 0.01, (".pth",), "flat"),
    ("animatediff_models", "models/animatediff_models", 0.04, (".ckpt", ".safetensors"), "flat"),
)
BASE_MODELS = ("SD15", "SDXL", "Pony", "Illustrious", "Flux", "SD3")
CATEGORIES = ("style", "character", "concept", "clothing", "poses", "background", "tools")
_WORD_TEXT = """
cinematic anime photo real dream pastel neon ink velvet retro noir cyber misty golden ember
frost lunar solar crystal shadow amber ivory cobalt scarlet jade onyx portrait landscape
detail light skin eyes hands armor dress forest city ocean castle robot dragon knight witch
mecha garden studio film grain sketch watercolor
"""
WORDS = tuple(_WORD_TEXT.split())
SIDECAR_SHARE = 0.25
"""Share of loras and checkpoints with a ``.preview.png`` and ``.civitai.info`` beside them,
as model managers leave them: files the inventory walks past without a stat."""
MISSING_POOL = 400
"""Distinct missing file names; workflows share them, as real collections do."""


@dataclass(frozen=True)
class TreeCounts:
    """What :func:`generate_tree` wrote."""

    models: int
    sidecars: int
    diffusers_folders: int
    packs: int
    workflows: int
    api_workflows: int
    subgraph_workflows: int

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _touch(path: str, body: bytes = b"") -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        if body:
            os.write(descriptor, body)
    finally:
        os.close(descriptor)


SAFETENSORS_BODY = struct.pack("<Q", 2) + b"{}"
"""The smallest sound .safetensors file: an 8-byte header length and an empty header."""
BINARY_BODY = b"\x80\x02model\x00"
"""A few binary bytes: what the inventory's health check takes for a model."""


def model_body(name: str) -> bytes:
    """Return a tiny body the model health check accepts for a file of this name (an
    empty file is a broken model; the benchmark's models are sound)."""
    return SAFETENSORS_BODY if name.endswith((".safetensors", ".sft")) else BINARY_BODY


def _model_name(rng: random.Random, index: int) -> str:
    words = rng.sample(WORDS, rng.randint(1, 3))
    return f"{'_'.join(words)}_v{rng.randint(1, 12)}-{index:06d}"


def _subfolder(rng: random.Random, layout: str) -> str:
    if layout == "flat":
        return "" if rng.random() < 0.8 else rng.choice(BASE_MODELS) + "/"
    if layout == "base":
        return rng.choice(BASE_MODELS) + "/"
    creator = f"creator_{rng.randint(1, 400):03d}"
    return f"{rng.choice(BASE_MODELS)}/{rng.choice(CATEGORIES)}/{creator}/"


def _write_models(
    root: Path, rng: random.Random, count: int
) -> tuple[dict[str, list[str]], int, int]:
    """Write ``count`` tiny sound model files; return relative paths by folder type, the number
    of sidecar files and of diffusers folders."""
    weights = [plan[2] for plan in FOLDER_PLAN]
    made: set[str] = set()
    by_folder: dict[str, list[str]] = {}
    sidecars = 0
    for index in range(count):
        folder, directory, _, extensions, layout = rng.choices(FOLDER_PLAN, weights)[0]
        relative = _subfolder(rng, layout) + _model_name(rng, index) + rng.choice(extensions)
        full = root / directory / relative
        parent = str(full.parent)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        _touch(str(full), model_body(relative))
        by_folder.setdefault(folder, []).append(relative)
        if folder in ("loras", "checkpoints") and rng.random() < SIDECAR_SHARE:
            stem = str(full).rsplit(".", 1)[0]
            _touch(stem + ".preview.png")
            _touch(stem + ".civitai.info")
            sidecars += 2
    diffusers = max(1, count // 20000)
    for index in range(diffusers):
        folder_name = f"diffusers_model_{index:02d}"
        base = root / "models" / "diffusers" / folder_name
        for part in ("unet", "vae", "text_encoder"):
            os.makedirs(base / part, exist_ok=True)
            _touch(str(base / part / "diffusion_pytorch_model.safetensors"), SAFETENSORS_BODY)
        (base / "model_index.json").write_text('{"_class_name": "Pipeline"}', encoding="utf-8")
        by_folder.setdefault("diffusers", []).append(folder_name)
    return by_folder, sidecars, diffusers


def _write_core(root: Path) -> None:
    for loader in CORE_LOADERS:
        if loader not in LOADERS:
            raise SystemExit(f"{loader} is not in watchman.comfy.loaders.LOADERS any more")
    (root / "comfy").mkdir(parents=True, exist_ok=True)
    (root / "comfy" / "__init__.py").write_text("", encoding="utf-8")
    (root / "main.py").write_text("# Synthetic ComfyUI main.py (benchmark tree).\n", "utf-8")
    names = sorted(set(CORE_LOADERS) | set(CORE_OTHER_NODES))
    lines = ["# Synthetic ComfyUI nodes.py: read statically, never run.", "", "", "class _Node:"]
    lines += ["    pass", "", "", "NODE_CLASS_MAPPINGS = {"]
    lines += [f"    {name!r}: _Node," for name in names]
    lines += ["}", ""]
    (root / "nodes.py").write_text("\n".join(lines), encoding="utf-8")


def _write_packs(root: Path, rng: random.Random, count: int) -> list[list[str]]:
    """Write ``count`` packs; return the node class names of each enabled pack."""
    enabled: list[list[str]] = []
    for index in range(count):
        disabled = rng.random() < 0.1
        name = f"ComfyUI-BenchPack{index:03d}" + (".disabled" if disabled else "")
        pack = root / "custom_nodes" / name
        (pack / "nodes").mkdir(parents=True, exist_ok=True)
        classes = [f"BenchPack{index:03d}Node{number:02d}" for number in range(rng.randint(5, 30))]
        mapping = ",\n".join(f"    {c!r}: {c}" for c in classes)
        imports = "\n".join(f"from .nodes.module_{n % 4} import {c}" for n, c in enumerate(classes))
        (pack / "__init__.py").write_text(
            f"{imports}\n\nNODE_CLASS_MAPPINGS = {{\n{mapping},\n}}\n", encoding="utf-8"
        )
        for module in range(4):
            body = [f'"""Nodes of bench pack {index}, module {module}."""', ""]
            for number, class_name in enumerate(classes):
                if number % 4 != module:
                    continue
                body += [
                    "",
                    f"class {class_name}:",
                    "    @classmethod",
                    "    def INPUT_TYPES(cls):",
                    '        return {"required": {"image": ("IMAGE",), "amount": ("FLOAT",)}}',
                    "",
                    '    RETURN_TYPES = ("IMAGE",)',
                    '    FUNCTION = "run"',
                    "",
                    "    def run(self, image, amount):",
                    "        return (image * amount,)",
                    "",
                ]
            (pack / "nodes" / f"module_{module}.py").write_text("\n".join(body), "utf-8")
        (pack / "nodes" / "__init__.py").write_text("", encoding="utf-8")
        (pack / "pyproject.toml").write_text(
            f'[project]\nname = "benchpack{index:03d}"\nversion = "1.{index}.0"\n', "utf-8"
        )
        if not disabled:
            enabled.append(classes)
    return enabled


class _WorkflowBuilder:
    """Builds one workflow's nodes; model values are drawn from the generated library."""

    def __init__(
        self, rng: random.Random, models: dict[str, list[str]], packs: Sequence[list[str]]
    ) -> None:
        self.rng = rng
        self.models = models
        self.packs = packs

    def model_value(self, folder: str) -> str:
        rng = self.rng
        roll = rng.random()
        files = self.models.get(folder)
        if files and roll < 0.70:
            value = rng.choice(files)
            if "/" in value and rng.random() < 0.2:
                value = value.replace("/", "\\")  # saved on Windows
            if rng.random() < 0.05:
                value = value.upper()
            return value
        others = [name for name in self.models if name not in (folder, "diffusers")]
        if roll < 0.85 or not files or not others:
            extension = ".gguf" if folder == "diffusion_models" else ".safetensors"
            return f"missing_{folder}_{rng.randrange(MISSING_POOL):04d}{extension}"
        return rng.choice(self.models[rng.choice(others)]).rsplit("/", 1)[-1]  # misplaced

    def loader_widgets(self, node_type: str) -> list[Any]:
        spec = LOADERS[node_type]
        values: list[Any] = []
        for widget in spec.widgets:
            if widget in spec.model_inputs:
                values.append(self.model_value(spec.model_inputs[widget]))
            elif widget.startswith("strength"):
                values.append(round(self.rng.uniform(0.3, 1.2), 2))
            elif widget == "type":
                values.append("sdxl")
            else:
                values.append("default")
        return values

    def node_list(self, size: int) -> list[tuple[str, list[Any]]]:
        """Return ``size`` (type, widgets_values) pairs: a pipeline, extras, then filler."""
        rng = self.rng
        nodes: list[tuple[str, list[Any]]] = []
        if rng.random() < 0.7:
            nodes.append(("CheckpointLoaderSimple", self.loader_widgets("CheckpointLoaderSimple")))
        else:
            for loader in ("UNETLoader", "DualCLIPLoader", "VAELoader"):
                nodes.append((loader, self.loader_widgets(loader)))
            nodes.append(("FluxGuidance", [3.5]))
        for _ in range(rng.randint(0, 6)):
            loader = rng.choice(("LoraLoader", "LoraLoader", "LoraLoaderModelOnly"))
            nodes.append((loader, self.loader_widgets(loader)))
        embedding = rng.choice(self.models.get("embeddings", ["none.pt"])).rsplit(".", 1)[0]
        prompt = f"masterpiece, a castle at dusk, embedding:{embedding}"
        nodes.append(("CLIPTextEncode", [prompt if rng.random() < 0.3 else "a castle at dusk"]))
        nodes.append(("CLIPTextEncode", ["blurry, lowres"]))
        nodes.append(("EmptyLatentImage", [1024, 1024, 1]))
        seed = rng.randrange(2**32)
        nodes.append(("KSampler", [seed, "randomize", 25, 6.5, "euler", "normal", 1]))
        nodes.append(("VAEDecode", []))
        extras = ("ControlNetLoader", "UpscaleModelLoader", "VAELoader", "CLIPVisionLoader")
        for loader in rng.sample(extras, rng.randint(0, 2)):
            nodes.append((loader, self.loader_widgets(loader)))
        if self.packs:
            for _ in range(rng.randint(0, 4)):
                nodes.append((rng.choice(rng.choice(self.packs)), [1.0]))
        if rng.random() < 0.1:
            nodes.append((f"UninstalledNode{rng.randrange(60):02d}", ["x"]))
        nodes.append(("SaveImage", ["ComfyUI"]))
        while len(nodes) < size:
            filler = rng.choice(FILLER_NODES)
            nodes.append((filler, list(FILLER_WIDGETS[filler])))
        return nodes


def _ui_nodes(pairs: Sequence[tuple[str, list[Any]]]) -> tuple[list[Any], list[Any]]:
    """Return UI-format nodes chained by one link each, and the links."""
    nodes: list[dict[str, Any]] = []
    links: list[list[Any]] = []
    for number, (node_type, widgets) in enumerate(pairs, start=1):
        inputs = []
        if number > 1:
            link_id = len(links) + 1
            # Named as the bench packs' nodes name their one required socket: a frontend
            # lists every socket of a node's definition in its saved inputs.
            links.append([link_id, number - 1, 0, number, 0, "IMAGE"])
            inputs.append({"name": "image", "type": "IMAGE", "link": link_id})
            nodes[-1]["outputs"][0]["links"] = [link_id]
        nodes.append(
            {
                "id": number,
                "type": node_type,
                "pos": [number * 320 % 3200, number // 10 * 400],
                "size": [315, 98],
                "flags": {},
                "order": number - 1,
                "mode": 0,
                "inputs": inputs,
                "outputs": [{"name": "output", "type": "*", "links": []}],
                "properties": {"Node name for S&R": node_type},
                "widgets_values": widgets,
            }
        )
    return nodes, links


def _api_document(pairs: Sequence[tuple[str, list[Any]]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for number, (node_type, widgets) in enumerate(pairs, start=1):
        spec = LOADERS.get(node_type)
        names = spec.widgets if spec else tuple(f"value_{i}" for i in range(len(widgets)))
        inputs: dict[str, Any] = dict(zip(names, widgets, strict=False))
        if number > 1:
            inputs["input"] = [str(number - 1), 0]
        document[str(number)] = {"class_type": node_type, "inputs": inputs}
    return document


def _write_workflows(
    root: Path, rng: random.Random, builder: _WorkflowBuilder, count: int
) -> tuple[int, int]:
    folder = root / "user" / "default" / "workflows"
    api = subgraphs = 0
    for index in range(count):
        sub = "" if rng.random() < 0.7 else f"{rng.choice(BASE_MODELS).lower()}/"
        path = folder / f"{sub}workflow_{index:05d}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        pairs = builder.node_list(rng.randint(10, 40))
        if rng.random() < 0.1:
            api += 1
            path.write_text(json.dumps(_api_document(pairs), indent=1), encoding="utf-8")
            continue
        nodes, links = _ui_nodes(pairs)
        document: dict[str, Any] = {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "revision": 0,
            "last_node_id": len(nodes),
            "last_link_id": len(links),
            "nodes": nodes,
            "links": links,
            "groups": [],
            "config": {},
            "extra": {"ds": {"scale": 0.8, "offset": [0, 0]}},
            "version": 0.4,
        }
        if rng.random() < 0.06:
            subgraphs += 1
            graph_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            inner = [("LoraLoaderModelOnly", builder.loader_widgets("LoraLoaderModelOnly"))]
            inner.append(("UpscaleModelLoader", builder.loader_widgets("UpscaleModelLoader")))
            inner.append(("ImageUpscaleWithModel", []))
            inner_nodes, inner_links = _ui_nodes(inner)
            document["nodes"].append(
                {**nodes[-1], "id": len(nodes) + 1, "type": graph_id, "widgets_values": []}
            )
            document["definitions"] = {
                "subgraphs": [
                    {
                        "id": graph_id,
                        "name": "Upscale with lora",
                        "nodes": inner_nodes,
                        "links": inner_links,
                        "inputs": [],
                        "outputs": [],
                        "widgets": [],
                    }
                ]
            }
        path.write_text(json.dumps(document), encoding="utf-8")
    return api, subgraphs


def generate_tree(out: Path, models: int, workflows: int, packs: int, seed: int = 0) -> TreeCounts:
    """Write a synthetic ComfyUI tree into ``out`` (created; must be empty or absent).

    Takes the folder, the number of model files, workflows and custom node packs, and the
    random seed. Returns what was written. Raises OSError when the folder cannot be written,
    FileExistsError when it is not empty.
    """
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty; give an empty or absent folder")
    rng = random.Random(seed)
    _write_core(out)
    by_folder, sidecars, diffusers = _write_models(out, rng, models)
    enabled = _write_packs(out, rng, packs)
    builder = _WorkflowBuilder(rng, by_folder, enabled)
    api, subgraphs = _write_workflows(out, rng, builder, workflows)
    return TreeCounts(models, sidecars, diffusers, packs, workflows, api, subgraphs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="empty or absent folder")
    parser.add_argument("--models", type=int, default=100_000)
    parser.add_argument("--workflows", type=int, default=2_000)
    parser.add_argument("--packs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args(argv)
    counts = generate_tree(
        arguments.out, arguments.models, arguments.workflows, arguments.packs, arguments.seed
    )
    print(json.dumps(counts.to_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
