"""Stability Matrix's ComfyUI packages: its library, its settings, its portable mode."""

from __future__ import annotations

import json
from pathlib import Path

from watchman.comfy.install import detect_comfyui_installs, install_layout
from watchman.comfy.stability_matrix import library_json_file, scan_stability_matrix


def make_comfyui(folder: Path) -> Path:
    (folder / "comfy").mkdir(parents=True)
    (folder / "main.py").write_text("", encoding="utf-8")
    (folder / "nodes.py").write_text("", encoding="utf-8")
    return folder


def point_to_library(library_file: Path, library: Path) -> None:
    library_file.parent.mkdir(parents=True, exist_ok=True)
    library_file.write_text(json.dumps({"LibraryPath": str(library)}), encoding="utf-8")


def write_settings(library: Path, *packages: dict[str, object], active: str | None = None) -> Path:
    library.mkdir(parents=True, exist_ok=True)
    settings = library / "settings.json"
    document: dict[str, object] = {"Version": 1, "InstalledPackages": list(packages)}
    if active is not None:
        document["ActiveInstalledPackage"] = active
    settings.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return settings


def package(identifier: str, name: str, folder: str, kind: str = "ComfyUI") -> dict[str, object]:
    return {"Id": identifier, "DisplayName": name, "PackageName": kind, "LibraryPath": folder}


def test_library_json_is_in_dotnets_application_data_folder(home: Path) -> None:
    assert library_json_file({}, home, "linux") == home / ".config/StabilityMatrix/library.json"
    assert library_json_file({"XDG_CONFIG_HOME": "/conf"}, home, "linux") == Path(
        "/conf/StabilityMatrix/library.json"
    )
    # macOS too: .NET's ApplicationData is ~/.config there.
    assert library_json_file({}, home, "darwin") == home / ".config/StabilityMatrix/library.json"
    assert library_json_file({"APPDATA": "C:/Users/me/AppData/Roaming"}, home, "win32") == Path(
        "C:/Users/me/AppData/Roaming/StabilityMatrix/library.json"
    )


def test_the_selected_comfyui_package_comes_first_and_other_packages_are_left_out(
    home: Path, cwd: Path
) -> None:
    library = home / "StabilityMatrix"
    point_to_library(home / ".config" / "StabilityMatrix" / "library.json", library)
    first = make_comfyui(library / "Packages" / "ComfyUI")
    zluda = make_comfyui(library / "Packages" / "ComfyUI-Zluda")
    make_comfyui(library / "Packages" / "Forge")  # a ComfyUI-shaped folder of another kind
    settings = write_settings(
        library,
        package("a1", "ComfyUI", "Packages/ComfyUI"),
        package("b2", "Forge", "Packages/Forge", "stable-diffusion-webui-forge"),
        package("C3", "Zluda", "Packages\\ComfyUI-Zluda", "ComfyUI-Zluda"),
        active="c3",
    )
    detection = detect_comfyui_installs({}, home, cwd=cwd, platform="linux")
    assert detection.found == (
        (zluda, f"Stability Matrix's selected package 'Zluda' in {settings}"),
        (first, f"Stability Matrix's package 'ComfyUI' in {settings}"),
    )
    assert detection.problems == ()


def test_windows_libraries_are_named_in_roaming_app_data(home: Path, cwd: Path) -> None:
    roaming = home / "AppData" / "Roaming"
    library = home / "SM-Data"
    point_to_library(roaming / "StabilityMatrix" / "library.json", library)
    root = make_comfyui(library / "Packages" / "ComfyUI")
    write_settings(library, package("a", "ComfyUI", "Packages\\ComfyUI"))
    found = detect_comfyui_installs({"APPDATA": str(roaming)}, home, cwd=cwd, platform="win32")
    assert [path for path, _ in found.found] == [root]


def test_a_portable_library_is_found_in_the_folder_comfywatchman_runs_in(
    home: Path, cwd: Path
) -> None:
    data = cwd / "Data"
    root = make_comfyui(data / "Packages" / "ComfyUI")
    settings = write_settings(data, package("a", "ComfyUI", "Packages/ComfyUI"))
    # Without the marker, Data is not Stability Matrix's.
    assert scan_stability_matrix({}, home, "win32", cwd).installs == ()
    (data / ".sm-portable").write_text("", encoding="utf-8")
    (install,) = scan_stability_matrix({}, home, "win32", cwd).installs
    assert install.root == root
    assert install.origin == f"Stability Matrix's package 'ComfyUI' in {settings}"


def test_a_package_whose_folder_is_gone_or_leaves_the_library_is_said(
    home: Path, cwd: Path
) -> None:
    library = home / "StabilityMatrix"
    point_to_library(home / ".config" / "StabilityMatrix" / "library.json", library)
    write_settings(
        library,
        package("a", "Deleted", "Packages/Deleted"),
        package("b", "Escaping", "../../etc"),
    )
    detection = detect_comfyui_installs({}, home, cwd=cwd, platform="linux")
    assert detection.found == ()
    escaping, deleted = sorted(detection.problems, key=lambda text: "Escaping" not in text)
    assert "package 'Escaping'" in escaping and "names no folder" in escaping
    assert "package 'Deleted'" in deleted and "which no longer exists" in deleted


def test_malformed_library_and_settings_files_are_one_sentence_each(home: Path, cwd: Path) -> None:
    library_file = home / ".config" / "StabilityMatrix" / "library.json"
    library_file.parent.mkdir(parents=True)
    library_file.write_text("{not json", encoding="utf-8")
    (problem,) = scan_stability_matrix({}, home, "linux", cwd).problems
    assert problem == (
        f"Stability Matrix's library.json {library_file} is not JSON; its entries are not read."
    )
    library_file.write_text(json.dumps({"LibraryPath": "relative/folder"}), encoding="utf-8")
    (problem,) = scan_stability_matrix({}, home, "linux", cwd).problems
    assert "names no absolute LibraryPath" in problem
    library = home / "Library"
    point_to_library(library_file, library)
    library.mkdir()
    (library / "settings.json").write_text('{"InstalledPackages": 3}', encoding="utf-8")
    (problem,) = scan_stability_matrix({}, home, "linux", cwd).problems
    assert problem.endswith("has no InstalledPackages list.")


def test_the_packages_own_extra_model_paths_file_wires_the_shared_models(
    home: Path, cwd: Path
) -> None:
    library = home / "StabilityMatrix"
    point_to_library(home / ".config" / "StabilityMatrix" / "library.json", library)
    root = make_comfyui(library / "Packages" / "ComfyUI")
    write_settings(library, package("a", "ComfyUI", "Packages/ComfyUI"))
    # Stability Matrix writes its shared folders into the file ComfyUI reads unasked;
    # nothing more is added to the layout.
    (root / "extra_model_paths.yaml").write_text(
        f"stability_matrix:\n  checkpoints: {library / 'Models' / 'StableDiffusion'}\n",
        encoding="utf-8",
    )
    layout = install_layout(root, None, [], {}, home, "linux")
    assert layout.base == root and layout.extra_model_paths == ()
