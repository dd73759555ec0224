"""A node's own validation says which of its inputs name a file in ComfyUI's input folder."""

from __future__ import annotations

import json
import textwrap

from watchman.comfy.loader_lookup import loader_table
from watchman.comfy.loader_source import LearnedLoader, learn_loaders
from watchman.comfy.workflow import parse_workflow_bytes

HEAD = "import folder_paths\n"


def learned(body: str, mapping: str) -> dict[str, LearnedLoader]:
    source = HEAD + textwrap.dedent(body) + f"\nNODE_CLASS_MAPPINGS = {mapping}\n"
    loaders, problems = learn_loaders([("nodes.py", source.encode())])
    assert problems == ()
    return {loader.node_type: loader for loader in loaders}


LOAD_IMAGE = """
class LoadPicture:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"image": (sorted(files), {"image_upload": True}),
                             "strength": ("FLOAT", {"default": 1.0})}}

    @classmethod
    def VALIDATE_INPUTS(s, image, strength):
        if not folder_paths.exists_annotated_filepath(image):
            return "Invalid image file: {}".format(image)
        return True
"""


def test_an_input_the_validation_checks_in_the_input_folder_is_an_input_file() -> None:
    loader = learned(LOAD_IMAGE, '{"LoadPicture": LoadPicture}')["LoadPicture"]
    assert loader.input_files == ("image",)
    assert loader.model_inputs == ()
    assert LearnedLoader.from_json(json.loads(json.dumps(loader.to_json()))) == loader


def test_a_wrapped_or_locally_bound_value_counts_as_video_helper_suite_writes_it() -> None:
    body = """
    class LoadClip:
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"video": (files,), "rate": ("INT",)}}

        @classmethod
        def VALIDATE_INPUTS(s, video, **kwargs):
            path = folder_paths.get_annotated_filepath(strip_path(video))
            return validate_path(path, allow_none=True)

    class LoadFrames:
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"directory": (folders,)}}

        @classmethod
        def VALIDATE_INPUTS(s, directory: str, **kwargs):
            directory = folder_paths.get_annotated_filepath(strip_path(directory))
            return validate_load_images(directory)
    """
    found = learned(body, '{"LoadClip": LoadClip, "LoadFrames": LoadFrames}')
    assert found["LoadClip"].input_files == ("video",)
    assert found["LoadFrames"].input_files == ("directory",)


def test_a_validation_that_lets_some_values_through_names_no_input_file() -> None:
    body = """
    class Receiver:
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"image": (files,)}}

        @classmethod
        def VALIDATE_INPUTS(s, image):
            if image != '#DATA' and not folder_paths.exists_annotated_filepath(image):
                return "Invalid image file"
            return True

    class Switchable:
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"image": (files,), "enabled": ("BOOLEAN",)}}

        @classmethod
        def VALIDATE_INPUTS(s, image, enabled):
            if not enabled:
                return True
            if not folder_paths.exists_annotated_filepath(image):
                return "Invalid image file"
            return True

    class Prefixed:
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"latent": (files,)}}

        @classmethod
        def VALIDATE_INPUTS(s, latent):
            folder_paths.get_annotated_filepath(f"latents/{latent}")
            return True
    """
    found = learned(body, '{"R": Receiver, "S": Switchable, "P": Prefixed}')
    assert all(not loader.input_files for loader in found.values())


def test_a_resolution_that_refuses_nothing_names_no_input_file() -> None:
    body = """
    class LoadAny:
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"image": (files,)}}

        @classmethod
        def VALIDATE_INPUTS(s, image):
            path = folder_paths.get_annotated_filepath(image)
            print(path)
            return True

    class LoadOrUrl:
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"image": (files,)}}

        @classmethod
        def VALIDATE_INPUTS(s, image):
            if folder_paths.exists_annotated_filepath(image):
                return True
            return image.startswith("https://")

    class JustSays:
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"image": (files,)}}

        @classmethod
        def VALIDATE_INPUTS(s, image):
            if not folder_paths.exists_annotated_filepath(image):
                print("not there, loading it later")
            return True
    """
    found = learned(body, '{"A": LoadAny, "U": LoadOrUrl, "J": JustSays}')
    assert all(not loader.input_files for loader in found.values())


def test_a_v3_node_s_validate_inputs_counts_too() -> None:
    body = """
    class LoadMovie(io.ComfyNode):
        @classmethod
        def define_schema(cls):
            return io.Schema(node_id="LoadMovie", inputs=[io.Combo.Input("file", options=files)])

        @classmethod
        def validate_inputs(cls, file):
            if not folder_paths.exists_annotated_filepath(file):
                return "Invalid video file: {}".format(file)
            return True
    """
    found = learned(body, "{}")
    assert found["LoadMovie"].input_files == ("file",)


def test_the_table_gives_learned_input_files_and_falls_back_to_the_known_ones() -> None:
    body = (
        LOAD_IMAGE
        + """
    class LoadBehind:
        @classmethod
        def INPUT_TYPES(s):
            return {"required": {"verbose": ("BOOLEAN",), "image": (files,)}}

        @classmethod
        def VALIDATE_INPUTS(s, image, verbose):
            if not folder_paths.exists_annotated_filepath(image):
                return "Invalid image file"
            return True
    """
    )
    table = loader_table(
        learned(body, '{"LoadPicture": LoadPicture, "LoadBehind": LoadBehind}').values()
    )
    assert table.input_files("LoadPicture") == (("image", 0),)
    # Not the first widget: its position is not sure, so it is read by name only.
    assert table.input_files("LoadBehind") == (("image", -1),)
    assert table.input_files("LoadImage") == (("image", 0),)
    assert table.input_files("KSampler") == ()
    # Known for its input file alone, the node stays unknown as to model files.
    assert table.spec("LoadPicture") is None


def test_a_workflow_s_node_of_an_installed_pack_names_its_input_file() -> None:
    body = LOAD_IMAGE
    table = loader_table(learned(body, '{"LoadPicture": LoadPicture}').values())
    behind = {"id": 2, "type": "LoadPicture", "widgets_values": ["theirs.png", "image", 1.0]}
    document = {"nodes": [behind], "links": []}
    parsed = parse_workflow_bytes(json.dumps(document).encode(), "the workflow", table)
    assert [(r.node_type, r.value) for r in parsed.input_files] == [("LoadPicture", "theirs.png")]


MODE_PICKER = """
class ModePicker:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"mode": (["a", "b"],)}}

    @classmethod
    def VALIDATE_INPUTS(s, **kwargs):
        return True

class MaskLoader:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"image": (sorted(files),), "channel": (["alpha", "red"],)}}

    @classmethod
    def VALIDATE_INPUTS(s, image):
        return True

class Helper:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"mode": (["a", "b"],)}}

    def validate_inputs(self, mode):  # a classic node's own helper, not ComfyUI's hook
        return True
"""


def test_a_nodes_validation_takes_over_the_list_check_of_exactly_the_inputs_it_takes() -> None:
    loaders = learned(
        MODE_PICKER, '{"ModePicker": ModePicker, "MaskLoader": MaskLoader, "Helper": Helper}'
    )
    assert loaders["ModePicker"].validated == ("**",)
    assert loaders["MaskLoader"].validated == ("image",)
    assert loaders["Helper"].validated == ()
    for loader in loaders.values():
        assert LearnedLoader.from_json(json.loads(json.dumps(loader.to_json()))) == loader
    table = loader_table(loaders.values())
    assert table.validates("ModePicker", "mode")
    assert table.validates("MaskLoader", "image") and not table.validates("MaskLoader", "channel")
    assert not table.validates("Helper", "mode")
    # Known for its validation only: as to model files, the node stays unknown.
    assert table.spec("ModePicker") is None
