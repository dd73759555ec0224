"""Node type names packs build at import time: the mapping their rules give, read like
any file of the pack."""

from __future__ import annotations

from watchman.comfy.loader_registration import (
    MAX_REGISTERING_BYTES,
    REGISTRATION_FILE,
    comfy3d_node_type,
    mtb_node_type,
    registration_file,
    repository_of,
)
from watchman.comfy.loader_source import learn_loaders


def test_packs_naming_their_node_types_at_import_get_the_mapping_their_rule_builds() -> None:
    assert mtb_node_type("MTB_LoadFaceSwapModel") == "Load Face Swap Model (mtb)"
    assert mtb_node_type("MTB_LoadImageFromUrl") == "Load Image From Url (mtb)"
    assert comfy3d_node_type("Load_CRM_MVDiffusion_Model") == (
        "[Comfy3D] Load CRM MVDiffusion Model"
    )
    mtb_files = [
        ("nodes/faceswap.py", b"class MTB_A: pass\nclass MTB_B: pass\n__nodes__ = [MTB_A]\n"),
        ("utils.py", b"__nodes__ = [Elsewhere]\n"),
        ("nodes/broken.py", b"def (:\n"),
    ]
    found = registration_file("melMass/comfy_mtb", mtb_files)
    assert found is not None
    name, source = found
    assert name == REGISTRATION_FILE
    assert source.decode() == 'NODE_CLASS_MAPPINGS = {\n    "A (mtb)": MTB_A,\n}\n'.replace(
        '"', "'"
    )
    assert registration_file("someone/else", mtb_files) is None


def test_a_class_named_by_the_rule_is_learned_like_a_mapped_one() -> None:
    files = [
        (
            "nodes.py",
            b"import folder_paths\nclass Load_Thing_Model:\n    @classmethod\n"
            b"    def INPUT_TYPES(s):\n        return {'required': {'ckpt': "
            b"(folder_paths.get_filename_list('checkpoints'),)}}\n",
        )
    ]
    registration = registration_file("MrForExample/ComfyUI-3D-Pack", files)
    assert registration is not None
    loaders, _ = learn_loaders([*files, registration])
    assert [(loader.node_type, dict(loader.model_inputs)) for loader in loaders] == [
        ("[Comfy3D] Load Thing Model", {"ckpt": ("checkpoints",)})
    ]


def test_a_github_remote_names_its_repository_in_the_rules_spelling() -> None:
    assert repository_of("https://github.com/melmass/Comfy_MTB.git") == "melMass/comfy_mtb"
    assert repository_of("git@github.com:MrForExample/ComfyUI-3D-Pack") == (
        "MrForExample/ComfyUI-3D-Pack"
    )
    assert repository_of("https://github.com/someone/pack/") == "someone/pack"
    assert repository_of("https://example.com/melMass/comfy_mtb.git") is None
    assert repository_of(None) is None


def test_only_the_files_the_rule_names_are_read_and_within_a_bound() -> None:
    registering = ("nodes.py", b"class Load_Model: pass\n")
    elsewhere = ("utils/nodes.py", b"class Other_Thing: pass\n")
    found = registration_file("MrForExample/ComfyUI-3D-Pack", [elsewhere, registering])
    assert found is not None and b"Other" not in found[1]
    huge = ("nodes.py", b"class A: pass\n" + b"#" * (MAX_REGISTERING_BYTES + 1))
    assert registration_file("MrForExample/ComfyUI-3D-Pack", [huge]) is None
    garbage = ("nodes.py", b"\xff\xfe(((" * 1000 + b"\x00")
    assert registration_file("MrForExample/ComfyUI-3D-Pack", [garbage]) is None


MTB_INIT = b"""
raise RuntimeError("pack sources are read, never imported")
for node_class in __nodes__:
    NODE_CLASS_MAPPINGS[f"{get_label(node_class.__name__)} (mtb)"] = node_class
"""


def test_a_pack_installed_without_git_is_known_by_its_own_registering_code() -> None:
    files = [
        (
            "nodes/faceswap.py",
            b"class MTB_LoadFaceSwapModel: pass\n__nodes__ = [MTB_LoadFaceSwapModel]\n",
        ),
        ("__init__.py", MTB_INIT),
    ]
    for remote in (None, "someone/comfy_mtb-fork"):
        found = registration_file(remote, files)
        assert found is not None
        assert b"'Load Face Swap Model (mtb)': MTB_LoadFaceSwapModel" in found[1]
    comfy3d = [
        (
            "__init__.py",
            b"for name, cls in inspect.getmembers(module):\n"
            b"    NODE_CLASS_MAPPINGS[f'[Comfy3D] {name}'] = cls\n",
        ),
        ("nodes.py", b"class Load_Thing: pass\n"),
    ]
    found = registration_file(None, comfy3d)
    assert found is not None and b"'[Comfy3D] Load Thing': Load_Thing" in found[1]


def test_a_pack_whose_init_lacks_a_rules_registering_code_gets_no_mapping() -> None:
    files = [
        ("nodes/faceswap.py", b"class MTB_A: pass\n__nodes__ = [MTB_A]\n"),
        ("nodes.py", b"class Load_Thing: pass\n"),
        ("__init__.py", b"NODE_CLASS_MAPPINGS = {'A (mtb)': A}  # __nodes__ elsewhere\n"),
    ]
    assert registration_file(None, files) is None
    assert registration_file(None, files[:2]) is None  # no __init__.py at all


def test_jovimetrix_registers_each_core_class_under_its_name_even_in_newer_syntax() -> None:
    files = [
        ("__init__.py", b'from cozy_comfyui.node import loader\nN = loader(ROOT, "J", "core")\n'),
        ("core/adjust.py", b'class AdjustBlurNode(Base):\n    NAME = "ADJUST: BLUR (JOV)"\n'),
        # An f-string with nested quotes (Python 3.12) does not parse here: read by line.
        (
            "core/calc.py",
            b'class LerpNode(Base):\n    """Lerp."""\n    NAME = "LERP (JOV) \\u200d"\n'
            b'    TIP = f"the {"TYPE"} input"\n\nHELPER = 1\n    NAME = "NOT A CLASS"\n'
            b"class Plain:\n    pass\n",
        ),
        ("web/other.py", b'class Elsewhere:\n    NAME = "OUTSIDE CORE"\n'),
    ]
    # Installed without .git: known by the registering code of its own __init__.py.
    found = registration_file(None, files)
    assert found is not None
    mapping = found[1].decode()
    assert "'ADJUST: BLUR (JOV)': AdjustBlurNode" in mapping
    assert "LerpNode" in mapping and "LERP (JOV)" in mapping
    assert "NOT A CLASS" not in mapping and "OUTSIDE CORE" not in mapping
