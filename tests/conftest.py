"""Every test runs cut off from the user's config, variables and home.

A developer's ``~/.config/comfywatchman/config.toml``, a ``COMFYWATCHMAN_*`` variable left
in the shell, a ``CIVITAI_API_TOKEN``, or systemd's ``STATE_DIRECTORY`` must never change a
test's outcome (nor a test write into the developer's real state folder). The fixture
below gives each test an empty home of its own and removes every variable the tool reads;
a test that wants one sets it itself.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# No test asserts a timing: Hypothesis's per-example deadline (200 ms by default) is one,
# and it failed a property test once on a machine busy with another suite.
settings.register_profile("comfywatchman", deadline=None)
settings.load_profile("comfywatchman")

# Variables the tool, or a library it uses, reads to find a user's config, state or tokens.
_READ_BY_THE_TOOL = (
    "COMFYUI_ROOT",
    "CIVITAI_API_TOKEN",
    "HF_TOKEN",
    "HF_HOME",
    "HUGGING_FACE_HUB_TOKEN",
    "STATE_DIRECTORY",
    "CONFIGURATION_DIRECTORY",
    "CACHE_DIRECTORY",
    "LOGS_DIRECTORY",
    "RUNTIME_DIRECTORY",
    "COMFY_CLI_CONFIG",
)
_PREFIXES = ("COMFYWATCHMAN_", "XDG_")


@pytest.fixture(autouse=True)
def isolated_user(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point HOME (and its Windows and XDG spellings) at an empty folder, and drop every
    ``COMFYWATCHMAN_*``, ``XDG_*``, token and systemd folder variable. Returns the home."""
    home = tmp_path_factory.mktemp("user-home")
    for name in list(os.environ):
        if name.upper().startswith(_PREFIXES) or name.upper() in _READ_BY_THE_TOOL:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.setenv("APPDATA", str(home / "AppData" / "Roaming"))
    monkeypatch.setenv("LOCALAPPDATA", str(home / "AppData" / "Local"))
    return home
