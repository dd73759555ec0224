"""A launcher's launch arguments: split as it splits them, read as ComfyUI reads them."""

from __future__ import annotations

from watchman.comfy.launch_arguments import (
    MAX_ARGUMENT_CHARACTERS,
    FolderOptions,
    folder_options,
    split_launch_arguments,
)


def test_arguments_are_split_at_blanks_and_grouped_by_quotes() -> None:
    text = """--port 8189  --extra-model-paths-config "my models.yaml" 'a"b' x"y z"w ''"""
    assert split_launch_arguments(text) == [
        "--port",
        "8189",
        "--extra-model-paths-config",
        "my models.yaml",
        'a"b',
        "xy zw",
    ]
    assert split_launch_arguments("") == []
    assert split_launch_arguments("x" * (MAX_ARGUMENT_CHARACTERS + 1)) == []


def test_every_extra_model_paths_option_adds_its_files_and_the_last_base_directory_wins() -> None:
    arguments = split_launch_arguments(
        "--extra-model-paths-config a.yaml b.yaml --listen --base-directory one "
        "--extra-model-paths-config=c.yaml --base-directory=two --extra-model-paths-config"
    )
    assert folder_options(arguments) == FolderOptions(("a.yaml", "b.yaml", "c.yaml"), "two")


def test_options_named_otherwise_or_without_a_value_name_no_folder() -> None:
    assert folder_options(["--extra-model-paths", "a.yaml", "--base-directory"]) == FolderOptions()
    assert folder_options(["--base-directory", "--cpu"]) == FolderOptions()
