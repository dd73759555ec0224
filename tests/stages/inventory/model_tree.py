"""A small ComfyUI install on disk for the model inventory's tests, and its scan."""

from __future__ import annotations

from pathlib import Path

from watchman.stages.inventory.model_scan import scan_models
from watchman.stages.inventory.models import ModelInventory


def write_file(path: Path, size: int = 4) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path


def comfy_tree(tmp_path: Path) -> dict[str, Path]:
    """A small ComfyUI install with extra paths, links, subfolders and odd names."""
    root = tmp_path / "ComfyUI"
    (root / "comfy").mkdir(parents=True)
    write_file(root / "main.py")
    write_file(root / "nodes.py")
    models = root / "models"
    write_file(models / "checkpoints" / "sd15.safetensors")
    write_file(models / "checkpoints" / "SDXL" / "Juggernaut.SAFETENSORS")
    write_file(models / "checkpoints" / "notes.txt")
    write_file(models / "loras" / "detail.safetensors")
    write_file(models / "loras" / "style" / "ink.safetensors")
    write_file(models / "embeddings" / "easyneg.pt", size=10)
    write_file(models / "unet" / "flux-Q4_0.gguf")
    write_file(models / "diffusion_models" / "wan.safetensors")
    write_file(models / "clip" / "t5xxl.safetensors")
    write_file(models / "t2i_adapter" / "adapter.pth")
    write_file(models / "diffusers" / "sd-turbo" / "model_index.json", size=3)
    write_file(models / "diffusers" / "sd-turbo" / "unet" / "weights.safetensors", size=7)
    write_file(models / "IPAdapter" / "ip-adapter_sd15.bin")
    write_file(models / "classifiers" / "aesthetic")
    (models / "vae").mkdir()
    (models / "vae" / "loop").symlink_to(models / "vae", target_is_directory=True)
    real = write_file(tmp_path / "outside" / "real_vae.safetensors", size=6)
    (models / "vae" / "linked.safetensors").symlink_to(real)
    (models / "vae" / "broken.safetensors").symlink_to(tmp_path / "gone.safetensors")
    write_file(tmp_path / "outside_dir" / "4x_ultra.pth")
    (models / "upscale_models").mkdir()
    (models / "upscale_models" / "linked_dir").symlink_to(
        tmp_path / "outside_dir", target_is_directory=True
    )
    store = tmp_path / "store"
    write_file(store / "checkpoints" / "shared.safetensors")
    write_file(store / "clip_store" / "clip_l.safetensors")
    extra_root = tmp_path / "extra_root"
    write_file(extra_root / "loras_a" / "a.safetensors")
    write_file(extra_root / "loras_b" / "b.safetensors")
    (root / "extra_model_paths.yaml").write_text(
        "shared:\n"
        "  base_path: ../store\n"
        "  is_default: true\n"
        "  checkpoints: checkpoints\n"
        "  clip: clip_store\n"
        "later:\n"
        "  base_path: $EXTRA_ROOT\n"
        "  loras: |\n"
        "    loras_a\n"
        "    loras_b\n"
        "    not_there\n",
        encoding="utf-8",
    )
    home = tmp_path / "home"
    write_file(home / "models" / "up" / "2x.pth")
    more = tmp_path / "more.yaml"
    more.write_text(
        "mine:\n  base_path: ~/models\n  upscale_models: up\n  custom_nodes: nodes\n",
        encoding="utf-8",
    )
    return {
        "root": root,
        "models": models,
        "store": store,
        "extra_root": extra_root,
        "home": home,
        "more": more,
    }


def scan_tree(tree: dict[str, Path]) -> ModelInventory:
    return scan_models(
        tree["root"],
        [tree["more"]],
        environ={"EXTRA_ROOT": str(tree["extra_root"])},
        home_dir=tree["home"],
    )


def paths_of(inventory: ModelInventory, folder: str) -> set[str]:
    return {model.relative_path for model in inventory.files[folder]}
