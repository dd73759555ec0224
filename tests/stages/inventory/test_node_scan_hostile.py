"""A pack's files are a stranger's: any bytes in them read as that pack's NodePack (fewer
names, never an exception), the same each time, and the shared parse of its files gives
the readings they would give alone."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchman.comfy.loader_source import read_pack
from watchman.comfy.pack_node_types import DeclaringModules, pack_node_types
from watchman.stages.inventory.node_scan import scan_pack

# A pack's __init__ and node file as packs write them: mappings merged across modules,
# classic nodes with model inputs, a v3 node, a sampler-list change.
INIT = b"""from .nodes import NODE_CLASS_MAPPINGS as BASE
from .nodes import Loader
NODE_CLASS_MAPPINGS = {**BASE, "Extra": Loader}
NODE_CLASS_MAPPINGS.update({Loader.NAME: Loader})
"""
NODES = b"""import folder_paths
import comfy.samplers
comfy.samplers.KSampler.SCHEDULERS.append("beta57")

class Loader:
    NAME = "Named Loader"
    OUTPUT_NODE = True
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"ckpt_name": (folder_paths.get_filename_list("checkpoints"),),
                             "model": ("MODEL",), "strength": ("FLOAT", {"default": 1.0})}}
    def load(self, ckpt_name, model, strength):
        path = folder_paths.get_full_path("checkpoints", ckpt_name)
        return comfy.sd.load_checkpoint_guess_config(path)

class V3(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="V3Node", inputs=[io.Image.Input("image")], is_output_node=True)

NODE_CLASS_MAPPINGS = {"Loader": Loader}
"""


@st.composite
def mutated(draw: st.DrawFn, source: bytes) -> bytes:
    """``source`` cut, with bytes replaced, inserted or a block repeated: what a truncated
    download, a bad merge or a hostile author leaves."""
    data = bytearray(source)
    for _ in range(draw(st.integers(0, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["replace", "insert", "cut", "repeat"]))
        if action == "replace":
            data[at] = draw(st.integers(0, 255))
        elif action == "insert":
            data[at:at] = draw(st.binary(max_size=8))
        elif action == "cut":
            del data[at:]
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 40))] * draw(st.integers(1, 50))
    return bytes(data)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(init=mutated(INIT), nodes=mutated(NODES))
def test_any_bytes_in_a_pack_read_as_that_pack_and_the_same_each_time(
    tmp_path: Path, init: bytes, nodes: bytes
) -> None:
    pack = tmp_path / "hostile_pack"
    pack.mkdir(exist_ok=True)
    (pack / "__init__.py").write_bytes(init)
    (pack / "nodes.py").write_bytes(nodes)
    first = scan_pack(pack, True)
    assert first.name == "hostile_pack"
    assert all(isinstance(name, str) for name in first.node_classes)
    assert scan_pack(pack, True) == first
    sources = [("__init__.py", init), ("nodes.py", nodes)]
    declaring = DeclaringModules()
    read_pack(sources, declaring.add)
    assert pack_node_types(sources, declaring) == pack_node_types(sources)


def test_the_unmutated_pack_is_read_whole() -> None:
    # What the property mutates: without a mutation every reading finds its part.
    sources = [("__init__.py", INIT), ("nodes.py", NODES)]
    declaring = DeclaringModules()
    reading = read_pack(sources, declaring.add)
    assert pack_node_types(sources, declaring) == {"Loader", "Extra", "Named Loader", "V3Node"}
    assert reading.changes_sampler_lists
    assert {loader.node_type for loader in reading.loaders} >= {"Loader"}
