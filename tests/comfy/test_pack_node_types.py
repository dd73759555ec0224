"""A pack's node types are followed across its modules, the ways real packs spread them,
without running a line of it, and only what can be shown is counted."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchman.comfy import pack_evaluation as module
from watchman.comfy.loader_source import read_pack
from watchman.comfy.pack_node_types import DeclaringModules, pack_node_types


def test_mappings_imported_from_other_modules_are_followed() -> None:
    # ComfyUI_essentials: one mapping per module, merged by update() in __init__.
    found = pack_node_types(
        [
            (
                "__init__.py",
                b"from .image import IMAGE_CLASS_MAPPINGS\n"
                b"from .mask import MASK_CLASS_MAPPINGS as MASKS\n"
                b"NODE_CLASS_MAPPINGS = {}\n"
                b"NODE_CLASS_MAPPINGS.update(IMAGE_CLASS_MAPPINGS)\n"
                b"NODE_CLASS_MAPPINGS.update(MASKS)\n",
            ),
            ("image.py", b'IMAGE_CLASS_MAPPINGS = {"GetImageSize+": A, "ImageResize+": B}\n'),
            ("mask.py", b'MASK_CLASS_MAPPINGS = {"MaskBlur+": C}\n'),
        ]
    )
    assert found == {"GetImageSize+", "ImageResize+", "MaskBlur+"}


def test_a_union_of_imported_mappings_is_followed() -> None:
    # SeargeSDXL: NODE_CLASS_MAPPINGS = SEARGE_CLASS_MAPPINGS | LEGACY_CLASS_MAPPINGS.
    found = pack_node_types(
        [
            (
                "__init__.py",
                b"from .modules._legacy import LEGACY\nfrom .searge import SEARGE\n"
                b"NODE_CLASS_MAPPINGS = SEARGE | LEGACY\n",
            ),
            ("searge.py", b'SEARGE = {"SeargeSamplerInputs": A}\n'),
            ("modules/_legacy.py", b'LEGACY = dict(SeargeInput1=B, **{"SeargeOutput1": C})\n'),
        ]
    )
    assert found == {"SeargeSamplerInputs", "SeargeInput1", "SeargeOutput1"}


def test_keys_that_are_class_attributes_are_read_from_the_class() -> None:
    # LoRA Manager: {LoraLoaderLM.NAME: LoraLoaderLM}, NAME a literal in another module.
    found = pack_node_types(
        [
            (
                "__init__.py",
                b"from .py.nodes.lora_loader import LoraLoaderLM\n"
                b"NODE_CLASS_MAPPINGS = {LoraLoaderLM.NAME: LoraLoaderLM, Local.NAME: Local}\n"
                b"class Local:\n    NAME = f'Local (LoraManager)'\n",
            ),
            (
                "py/nodes/lora_loader.py",
                b'class LoraLoaderLM:\n    NAME = "Lora Loader (LoraManager)"\n',
            ),
        ]
    )
    assert found == {"Lora Loader (LoraManager)", "Local (LoraManager)"}


def test_names_made_by_a_small_function_of_strings_are_evaluated() -> None:
    # rgthree: NAME = get_name("Seed"), get_name returning "{} ({})".format(name, NAMESPACE).
    found = pack_node_types(
        [
            (
                "__init__.py",
                b"from .py.seed import RgthreeSeed\nfrom .py.context import Ctx\n"
                b"NODE_CLASS_MAPPINGS = {RgthreeSeed.NAME: RgthreeSeed, Ctx.NAME: Ctx}\n",
            ),
            (
                "py/constants.py",
                b'NAMESPACE = "rgthree"\n\ndef get_name(name):\n'
                b'    """The node type."""\n    return "{} ({})".format(name, NAMESPACE)\n\n'
                b"def add(name):\n    return name + ' (' + NAMESPACE + ')'\n",
            ),
            (
                "py/seed.py",
                b"from .constants import get_name\nclass RgthreeSeed:\n"
                b"    NAME = get_name('Seed')\n",
            ),
            (
                "py/context.py",
                b"from .constants import *\nclass Ctx:\n    NAME = add(f'Context')\n",
            ),
        ]
    )
    assert found == {"Seed (rgthree)", "Context (rgthree)"}


def test_a_mapping_built_from_a_config_dict_takes_its_keys() -> None:
    # KJNodes: NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS = generate(NODE_CONFIG).
    found = pack_node_types(
        [
            (
                "__init__.py",
                b'NODE_CONFIG = {"SetShape": {"class": A, "name": "Set"},\n'
                b'               "INTConstant": {"class": B}}\n'
                b"NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS = generate(NODE_CONFIG)\n",
            ),
            (
                "other/__init__.py",
                b'CONFIG = {"Other": {"class": C}}\n'
                b'NODE_CLASS_MAPPINGS = {name: info["class"] for name, info in CONFIG.items()}\n',
            ),
        ]
    )
    assert found == {"SetShape", "INTConstant", "Other"}


def test_a_config_dict_grown_after_its_binding_gives_every_key_it_gains() -> None:
    # KJNodes adds groups to NODE_CONFIG in try blocks (their imports may fail).
    found = pack_node_types(
        [
            (
                "__init__.py",
                b"from .config import SHARED\n"
                b'NODE_CONFIG = {"Base": {"class": A}}\n'
                b"try:\n"
                b"    from .nodes.ltxv import B\n"
                b'    NODE_CONFIG.update({"Updated": {"class": B}}, Keyword={"class": B})\n'
                b"except Exception:\n"
                b"    pass\n"
                b'NODE_CONFIG["Assigned"] = {"class": C}\n'
                b'NODE_CONFIG |= {"Merged": {"class": D}}\n'
                b'SHARED.update({"Here": {"class": E}})\n'
                b"NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS = generate(NODE_CONFIG)\n"
                b'NODE_CLASS_MAPPINGS.update({k: v["class"] for k, v in SHARED.items()})\n',
            ),
            ("config.py", b'SHARED = {"There": {"class": F}}\nSHARED["AlsoThere"] = {}\n'),
        ]
    )
    assert found == {
        *("Base", "Updated", "Keyword", "Assigned", "Merged"),
        *("There", "AlsoThere", "Here"),
    }


def test_what_only_running_the_pack_would_tell_is_left_out() -> None:
    found = pack_node_types(
        [
            (
                "__init__.py",
                b"import random\nfrom .missing import GONE\n"
                b"NODE_CLASS_MAPPINGS = {}\n"
                b"NODE_CLASS_MAPPINGS.update(GONE)\n"
                b"NODE_CLASS_MAPPINGS.update(build_at_runtime())\n"
                b'NODE_CLASS_MAPPINGS[random.choice(["a", "b"])] = A\n'
                b"NODE_CLASS_MAPPINGS[Cls.__name__] = Cls\n"
                b'NODE_CLASS_MAPPINGS["{0.__class__}".format(x)] = B\n'
                b"NODE_CLASS_MAPPINGS[name_of(1)] = C\n"
                b'NODE_CLASS_MAPPINGS["Known"] = D\n',
            ),
        ]
    )
    assert found == {"Known"}


def test_a_package_wins_over_a_module_file_of_the_same_name() -> None:
    found = pack_node_types(
        [
            ("__init__.py", b"from .nodes import MAPS\nNODE_CLASS_MAPPINGS = MAPS\n"),
            ("nodes.py", b'MAPS = {"FromTheFile": A}\n'),
            ("nodes/__init__.py", b'MAPS = {"FromThePackage": A}\n'),
        ]
    )
    assert found == {"FromThePackage"}


def test_cycles_and_self_references_end() -> None:
    found = pack_node_types(
        [
            ("__init__.py", b"from .a import A\nNODE_CLASS_MAPPINGS = {**A, 'Top': T}\n"),
            ("a.py", b"from . import B\nfrom .b import B\nA = {**B, 'FromA': X}\n"),
            ("b.py", b"from .a import A\nB = {**A, 'FromB': Y}\nSELF = {**SELF}\n"),
        ]
    )
    assert found == {"Top", "FromA", "FromB"}


def test_merges_that_double_at_every_level_cost_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    levels = "\n".join(f"M{n} = {{**M{n + 1}, **M{n + 1}, 'N{n}': A}}" for n in range(60))
    text = f"M60 = {{'Deepest': A}}\n{levels}\nNODE_CLASS_MAPPINGS = M0\n".encode()
    monkeypatch.setattr(module, "MAX_DEPTH", 200)
    found = pack_node_types([("__init__.py", text)])
    assert {"N0", "N59", "Deepest"} <= found


def test_an_evaluation_past_the_budget_stops_without_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "MAX_STEPS", 10)
    keys = ", ".join(f"'N{n}': A" for n in range(50))
    found = pack_node_types([("__init__.py", f"NODE_CLASS_MAPPINGS = {{{keys}}}\n".encode())])
    assert len(found) < 50


def test_files_that_do_not_parse_or_decode_are_skipped() -> None:
    found = pack_node_types(
        [
            ("__init__.py", b"NODE_CLASS_MAPPINGS = {'Good': A}\n"),
            ("broken.py", b"NODE_CLASS_MAPPINGS = {'Bad': (\n"),
            ("latin.py", b"# -*- coding: klingon -*-\nNODE_CLASS_MAPPINGS = {'Odd': A}\n"),
            ("deep.py", b"NODE_CLASS_MAPPINGS = " + b"[" * 5_000 + b"]" * 5_000 + b"\n"),
        ]
    )
    assert found == {"Good"}


def test_v3_schema_node_ids_are_read() -> None:
    found = pack_node_types(
        [
            (
                "nodes.py",
                b"ID = 'SchemaNode'\nio.Schema(node_id=ID, inputs=[])\nio.Schema(node_id=f'Two')\n",
            )
        ]
    )
    assert found == {"SchemaNode", "Two"}


NAMES = ("A", "B", "NODE_CLASS_MAPPINGS", "NAME", "get_name", "Cls", "CONFIG")
TEXTS = ('"K"', "'{} ({})'", 'f"{A}"', "A + B", "A.NAME", "get_name(A)", '"{0.x}".format(A)')


@st.composite
def statements(draw: st.DrawFn) -> str:
    """One line of a module, from the forms the reader follows, mixed and wrongly nested."""
    name, other = draw(st.sampled_from(NAMES)), draw(st.sampled_from(NAMES))
    text = draw(st.sampled_from(TEXTS))
    module = draw(st.sampled_from([".a", ".b", "..c", ".", ".a.b"]))
    return draw(
        st.sampled_from(
            [
                f"{name} = {{{text}: {other}, **{other}}}",
                f"{name} = {other} | {name}",
                f"{name}.update({other})",
                f"{name}[{text}] = {other}",
                f"from {module} import {name} as {other}",
                f"from {module} import *",
                f"class {name}:\n    NAME = {text}",
                f"def {name}({other}):\n    return {text}",
                f"{name}, X = build({other})",
                f"{name} = {{k: v for k, v in {other}.items()}}",
                f"{name} = {text}",
                f"io.Schema(node_id={text})",
                f"{name} |= {other}",
            ]
        )
    )


@settings(max_examples=150, deadline=None)
@given(
    files=st.lists(
        st.tuples(
            st.sampled_from(["__init__.py", "a.py", "b.py", "a/__init__.py", "a/b.py", "c.py"]),
            st.lists(statements(), max_size=12),
        ),
        max_size=6,
    )
)
def test_any_mix_of_the_followed_forms_is_read_without_error(
    files: list[tuple[str, list[str]]],
) -> None:
    sources = [(path, "\n".join(lines).encode()) for path, lines in files]
    found = pack_node_types(sources)
    assert all(isinstance(name, str) for name in found)


@settings(max_examples=150, deadline=None)
@given(
    files=st.dictionaries(
        st.sampled_from(["__init__.py", "a.py", "b.py", "a/__init__.py", "a/b.py", "c.py"]),
        st.lists(statements(), max_size=12),
        max_size=6,
    )
)
def test_node_types_read_from_the_shared_parse_equal_those_of_a_parse_of_their_own(
    files: dict[str, list[str]],
) -> None:
    sources = [(path, "\n".join(lines).encode()) for path, lines in files.items()]
    declaring = DeclaringModules()
    read_pack(sources, declaring.add)
    assert pack_node_types(sources, declaring) == pack_node_types(sources)


def test_modules_indexed_from_the_loader_readings_parse_are_not_parsed_again() -> None:
    # The loader reading parses every file that declares nodes; the node types are read
    # from those same trees. Only a file no reading parsed (image.py, no node markers)
    # is parsed here.
    files = [
        (
            "__init__.py",
            b"from .image import IMAGE_CLASS_MAPPINGS\n"
            b'NODE_CLASS_MAPPINGS = {"Own": A}\n'
            b"NODE_CLASS_MAPPINGS.update(IMAGE_CLASS_MAPPINGS)\n",
        ),
        ("image.py", b'IMAGE_CLASS_MAPPINGS = {"GetImageSize+": B}\n'),
    ]
    declaring = DeclaringModules()
    read_pack(files, declaring.add)
    assert set(declaring.modules) == {"__init__.py"}  # image.py names no mapping
    # The indexed module stands for the file: its bytes are not read again.
    replaced = [("__init__.py", b"NODE_CLASS_MAPPINGS = (  # not python"), files[1]]
    assert pack_node_types(replaced, declaring) == {"Own", "GetImageSize+"}
    assert pack_node_types(files) == {"Own", "GetImageSize+"}


def test_a_file_that_names_no_mapping_is_not_indexed_for_the_node_types() -> None:
    declaring = DeclaringModules()
    read_pack(
        [("nodes.py", b"class A:\n    @classmethod\n    def INPUT_TYPES(s):\n        return {}\n")],
        declaring.add,
    )
    assert declaring.modules == {}
