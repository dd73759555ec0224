"""Folders the tests of install detection build fake installs in: a home and a current
folder of their own, both empty."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty home folder (the launchers' files and common install places go here)."""
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    """An empty folder the tool runs in, apart from the home."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    return folder
