"""Build ``watchman/comfy/data/bundled_loaders.json`` from node packs' sources.

Runs the same extractor the inventory runs on installed packs
(``watchman.comfy.loader_source.learn_loaders``) over git snapshots of widely used packs,
so ``scan`` without an install, and a cycle meeting a pack that is not installed, still
know which folder each loader input lists. Each pack is also read at its last commit
before each date of :data:`HISTORY_BEFORE`: a node type defined there and by no newer
commit read (renamed or removed since) keeps that commit's entry, for workflows saved
with the older pack. Every entry records its pack, repository and
commit. The sources are read from bare git directories (``git show``), never run, and
never committed here: only the generated table is.

Usage::

    python tools/build_loader_table.py MIRRORS_DIR [--output PATH]

``MIRRORS_DIR`` holds one bare clone per pack named ``owner+name`` (with the git
directory at ``owner+name/repo`` or ``owner+name`` itself). A pack whose snapshot is
absent is reported, and the entries the previous table (the output file, unless
``--fresh``) holds for it are kept; so is a node type a newer snapshot of a pack no longer
defines (workflows saved with the older pack still name it), with the commit that
defined it. Only packs still listed in :data:`PACKS` carry entries over. A pack listed under
several repositories (a fork and its original) needs all their snapshots at hand: the
newest wins among those read, and the previous table's entry is not compared.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from watchman.comfy.loader_registration import registration_file
from watchman.comfy.loader_source import learn_loaders
from watchman.comfy.pack_node_types import node_classes_in_source

# (owner/name, what the pack is called, whether the pack downloads its own model files
# into its own folder instead of listing a ComfyUI models folder)
PACKS: tuple[tuple[str, str, bool], ...] = (
    ("pollockjj/ComfyUI-MultiGPU", "ComfyUI-MultiGPU", False),
    ("nunchaku-tech/ComfyUI-nunchaku", "ComfyUI-nunchaku", False),
    ("cubiq/ComfyUI_InstantID", "ComfyUI_InstantID", False),
    ("cubiq/PuLID_ComfyUI", "PuLID_ComfyUI", False),
    ("balazik/ComfyUI-PuLID-Flux", "ComfyUI-PuLID-Flux", False),
    ("kijai/ComfyUI-KJNodes", "ComfyUI-KJNodes", False),
    ("kijai/ComfyUI-MelBandRoFormer", "ComfyUI-MelBandRoFormer", False),
    ("Lightricks/ComfyUI-LTXVideo", "ComfyUI-LTXVideo", False),
    # Read at a commit of kijai's own that a fork's snapshot holds (UPSTREAM_IN_FORKS).
    ("kijai/ComfyUI-WanVideoWrapper", "ComfyUI-WanVideoWrapper", False),
    ("rookiestar28/ComfyUI-LongCat-Avatar", "ComfyUI-LongCat-Avatar", False),
    ("ltdrdata/ComfyUI-Impact-Pack", "ComfyUI-Impact-Pack", False),
    ("ltdrdata/ComfyUI-Impact-Subpack", "ComfyUI-Impact-Subpack", False),
    ("ltdrdata/ComfyUI-Inspire-Pack", "ComfyUI-Inspire-Pack", False),
    ("cubiq/ComfyUI_IPAdapter_plus", "ComfyUI_IPAdapter_plus", False),
    ("city96/ComfyUI-GGUF", "ComfyUI-GGUF", False),
    ("Gourieff/comfyui-reactor-node", "comfyui-reactor-node", False),
    ("rgthree/rgthree-comfy", "rgthree-comfy", False),
    ("Suzie1/ComfyUI_Comfyroll_CustomNodes", "ComfyUI_Comfyroll_CustomNodes", False),
    ("willmiao/ComfyUI-Lora-Manager", "ComfyUI-Lora-Manager", False),
    ("MinusZoneAI/ComfyUI-Kolors-MZ", "ComfyUI-Kolors-MZ", False),
    ("Fannovel16/comfyui_controlnet_aux", "comfyui_controlnet_aux", True),
    ("Kosinkadink/ComfyUI-AnimateDiff-Evolved", "ComfyUI-AnimateDiff-Evolved", False),
    ("jags111/efficiency-nodes-comfyui", "efficiency-nodes-comfyui", False),
    ("kijai/ComfyUI-HunyuanVideoWrapper", "ComfyUI-HunyuanVideoWrapper", False),
    ("XLabs-AI/x-flux-comfyui", "x-flux-comfyui", False),
    ("kijai/ComfyUI-SUPIR", "ComfyUI-SUPIR", False),
    ("kijai/ComfyUI-FluxTrainer", "ComfyUI-FluxTrainer", False),
    ("ssitu/ComfyUI_UltimateSDUpscale", "ComfyUI_UltimateSDUpscale", False),
    # Session 6: widely used packs whose nodes list model folders, chosen from
    # ComfyUI-Manager's extension-node-map (loader-like node types) and usage.
    ("pythongosssss/ComfyUI-Custom-Scripts", "ComfyUI-Custom-Scripts", False),
    ("yolain/ComfyUI-Easy-Use", "ComfyUI-Easy-Use", False),
    ("TinyTerra/ComfyUI_tinyterraNodes", "ComfyUI_tinyterraNodes", False),
    ("WASasquatch/was-node-suite-comfyui", "was-node-suite-comfyui", False),
    # The maintained fork of the archived WAS suite (same node types; newest wins).
    ("ltdrdata/was-node-suite-comfyui", "was-node-suite-comfyui", False),
    ("Kosinkadink/ComfyUI-Advanced-ControlNet", "ComfyUI-Advanced-ControlNet", False),
    ("cubiq/ComfyUI_essentials", "ComfyUI_essentials", False),
    ("Acly/comfyui-inpaint-nodes", "comfyui-inpaint-nodes", False),
    ("nullquant/ComfyUI-BrushNet", "ComfyUI-BrushNet", False),
    ("Shakker-Labs/ComfyUI-IPAdapter-Flux", "ComfyUI-IPAdapter-Flux", False),
    ("alexopus/ComfyUI-Image-Saver", "ComfyUI-Image-Saver", False),
    ("giriss/comfy-image-saver", "comfy-image-saver", False),
    ("sipherxyz/comfyui-art-venture", "comfyui-art-venture", False),
    ("city96/ComfyUI_ExtraModels", "ComfyUI_ExtraModels", False),
    ("ClownsharkBatwing/RES4LYF", "RES4LYF", False),
    ("bash-j/mikey_nodes", "mikey_nodes", False),
    ("receyuki/comfyui-prompt-reader-node", "comfyui-prompt-reader-node", False),
    ("wallish77/wlsh_nodes", "wlsh_nodes", False),
    ("SeargeDP/SeargeSDXL", "SeargeSDXL", False),
    ("mav-rik/facerestore_cf", "facerestore_cf", False),
    ("shiimizu/ComfyUI-PhotoMaker-Plus", "ComfyUI-PhotoMaker-Plus", False),
    ("ZHO-ZHO-ZHO/ComfyUI-InstantID", "ComfyUI-InstantID", False),
    ("lldacing/ComfyUI_PuLID_Flux_ll", "ComfyUI_PuLID_Flux_ll", False),
    ("TencentQQGYLab/ComfyUI-ELLA", "ComfyUI-ELLA", False),
    ("comfyanonymous/ComfyUI_TensorRT", "ComfyUI_TensorRT", False),
    ("kijai/ComfyUI-CCSR", "ComfyUI-CCSR", False),
    ("kijai/ComfyUI-IC-Light", "ComfyUI-IC-Light", False),
    # kijai's wrappers: a loader per model folder, plus DownloadAndLoad* nodes that
    # fetch Hugging Face repositories into their own folders.
    ("kijai/ComfyUI-CogVideoXWrapper", "ComfyUI-CogVideoXWrapper", True),
    ("kijai/ComfyUI-FramePackWrapper", "ComfyUI-FramePackWrapper", True),
    ("kijai/ComfyUI-Hunyuan3DWrapper", "ComfyUI-Hunyuan3DWrapper", True),
    ("kijai/ComfyUI-MochiWrapper", "ComfyUI-MochiWrapper", True),
    ("kijai/ComfyUI-DynamiCrafterWrapper", "ComfyUI-DynamiCrafterWrapper", True),
    ("kijai/ComfyUI-Florence2", "ComfyUI-Florence2", True),
    ("kijai/ComfyUI-DepthAnythingV2", "ComfyUI-DepthAnythingV2", True),
    ("kijai/ComfyUI-segment-anything-2", "ComfyUI-segment-anything-2", True),
    ("kijai/ComfyUI-LivePortraitKJ", "ComfyUI-LivePortraitKJ", True),
    ("kijai/ComfyUI-MimicMotionWrapper", "ComfyUI-MimicMotionWrapper", True),
    ("storyicon/comfyui_segment_anything", "comfyui_segment_anything", True),
    ("huchenlei/ComfyUI-layerdiffuse", "ComfyUI-layerdiffuse", True),
    ("Fannovel16/ComfyUI-Frame-Interpolation", "ComfyUI-Frame-Interpolation", True),
    ("1038lab/ComfyUI-RMBG", "ComfyUI-RMBG", True),
    ("chflame163/ComfyUI_LayerStyle", "ComfyUI_LayerStyle", True),
    ("chflame163/ComfyUI_LayerStyle_Advance", "ComfyUI_LayerStyle_Advance", True),
    # ReActor's current repository (the older one above keeps its pack name; newest wins).
    ("Gourieff/ComfyUI-ReActor", "comfyui-reactor-node", False),
    ("kijai/ComfyUI-WanAnimatePreprocess", "ComfyUI-WanAnimatePreprocess", False),
    ("kijai/ComfyUI-MMAudio", "ComfyUI-MMAudio", False),
    ("lldacing/ComfyUI_BiRefNet_ll", "ComfyUI_BiRefNet_ll", False),
    ("SeaArtLab/ComfyUI-Long-CLIP", "ComfyUI-Long-CLIP", False),
    ("gokayfem/ComfyUI_VLM_nodes", "ComfyUI_VLM_nodes", False),
    ("jitcoder/lora-info", "lora-info", False),
    ("LarryJane491/Lora-Training-in-Comfy", "Lora-Training-in-Comfy", False),
    ("ArtVentureX/comfyui-animatediff", "comfyui-animatediff", False),
    # PhotoMaker-ZHO fetches photomaker-v1.bin from the hub (hf_hub_download).
    ("ZHO-ZHO-ZHO/ComfyUI-PhotoMaker-ZHO", "ComfyUI-PhotoMaker-ZHO", True),
    ("smthemex/ComfyUI_Sonic", "ComfyUI_Sonic", False),
    ("GreenLandisaLie/AuraSR-ComfyUI", "AuraSR-ComfyUI", False),
    ("kijai/ComfyUI-KwaiKolorsWrapper", "ComfyUI-KwaiKolorsWrapper", True),
    ("kijai/ComfyUI-GIMM-VFI", "ComfyUI-GIMM-VFI", True),
    ("PowerHouseMan/ComfyUI-AdvancedLivePortrait", "ComfyUI-AdvancedLivePortrait", True),
    ("kijai/ComfyUI-LBMWrapper", "ComfyUI-LBMWrapper", False),
    ("kijai/ComfyUI-Lotus", "ComfyUI-Lotus", False),
    ("kijai/ComfyUI-PyramidFlowWrapper", "ComfyUI-PyramidFlowWrapper", True),
    ("kijai/ComfyUI-Marigold", "ComfyUI-Marigold", True),
    ("neverbiasu/ComfyUI-SAM2", "ComfyUI-SAM2", True),
    # Session 7: GGUF loaders of calcuis (its own folder types, see folders.py), face
    # parsing and PuLID variants, EchoMimic, AD MotionDirector, and WD14-Tagger (its
    # model names carry no extension: the pack downloads them into its own folder).
    ("calcuis/gguf", "gguf", False),
    ("Ryuukeisyou/comfyui_face_parsing", "comfyui_face_parsing", False),
    ("sipie800/ComfyUI-PuLID-Flux-Enhanced", "ComfyUI-PuLID-Flux-Enhanced", False),
    ("smthemex/ComfyUI_EchoMimic", "ComfyUI_EchoMimic", False),
    ("kijai/ComfyUI-ADMotionDirector", "ComfyUI-ADMotionDirector", False),
    ("pythongosssss/ComfyUI-WD14-Tagger", "ComfyUI-WD14-Tagger", False),
    # rgthree's mapping keys come from a helper of another file (loader_names.py).
    ("GraftingRayman/ComfyUI-PuLID-Flux-GR", "ComfyUI-PuLID-Flux-GR", False),
    ("smthemex/ComfyUI_Hallo2", "ComfyUI_Hallo2", False),
    # Upscalers, interpolation, segmentation and captioners that fetch their weights
    # (Hugging Face snapshots, or ONNX files they build TensorRT engines from) themselves.
    ("lihaoyun6/ComfyUI-FlashVSR_Ultra_Fast", "ComfyUI-FlashVSR_Ultra_Fast", True),
    ("numz/ComfyUI-SeedVR2_VideoUpscaler", "ComfyUI-SeedVR2_VideoUpscaler", True),
    ("yuvraj108c/ComfyUI-Upscaler-Tensorrt", "ComfyUI-Upscaler-Tensorrt", True),
    ("yuvraj108c/ComfyUI-Rife-Tensorrt", "ComfyUI-Rife-Tensorrt", True),
    ("kijai/ComfyUI-ControlNeXt-SVD", "ComfyUI-ControlNeXt-SVD", True),
    ("PozzettiAndrea/ComfyUI-SAM3", "ComfyUI-SAM3", True),
    ("1038lab/ComfyUI-QwenVL", "ComfyUI-QwenVL", True),
    ("1038lab/ComfyUI-JoyCaption", "ComfyUI-JoyCaption", True),
    ("miaoshouai/ComfyUI-Miaoshouai-Tagger", "ComfyUI-Miaoshouai-Tagger", True),
    ("john-mnz/ComfyUI-Inspyrenet-Rembg", "ComfyUI-Inspyrenet-Rembg", True),
    ("Fannovel16/ComfyUI-Video-Matting", "ComfyUI-Video-Matting", True),
    ("kijai/ComfyUI-moondream", "ComfyUI-moondream", True),
    # Session 8: loaders whose values name folders (folders.py ``entry_folders``):
    # ACE-Step's model parts under models/TTS/ACE-Step-v1-3.5B.
    ("billwuhao/ComfyUI_ACE-Step", "ComfyUI_ACE-Step", False),
    # Session 9: packs whose loader-like node types (extension-node-map) the table lacked.
    # VideoX-Fun (aigc-apps): Wan, Qwen-Image, Z-Image, Flux.2 and CogVideoX-Fun loaders
    # over ComfyUI's own folders.
    ("aigc-apps/VideoX-Fun", "VideoX-Fun", False),
    ("smthemex/ComfyUI_TRELLIS", "ComfyUI_TRELLIS", False),
    ("kadirnar/ComfyUI-YOLO", "ComfyUI-YOLO", False),
    ("jax-explorer/ComfyUI-InstantCharacter", "ComfyUI-InstantCharacter", False),
    ("ZHO-ZHO-ZHO/ComfyUI-APISR", "ComfyUI-APISR", False),
    # mixlab: Whisper's model folders, rembg and embeddings; its other nodes list none.
    ("shadowcz007/comfyui-mixlab-nodes", "comfyui-mixlab-nodes", False),
    # comfy_mtb and 3D-Pack name their node types at import time (loader_registration.py). 3D-Pack
    # loads from its own Checkpoints folder and fetches a missing default from its
    # Hugging Face repository itself.
    ("melMass/comfy_mtb", "comfy_mtb", False),
    ("MrForExample/ComfyUI-3D-Pack", "ComfyUI-3D-Pack", True),
    # Loaders that take Hugging Face repository ids (or fixed names) and download them
    # themselves: joy_caption_two's Llama repos (download_hg_model into models/LLM),
    # IDM-VTON and CatVTON (snapshot_download into models/IDM-VTON, models/CatVTON),
    # TRELLIS.2 (snapshot_download into models/microsoft), HunyuanVideo-Foley (if-ai).
    ("EvilBT/ComfyUI_SLK_joy_caption_two", "ComfyUI_SLK_joy_caption_two", True),
    ("TemryL/ComfyUI-IDM-VTON", "ComfyUI-IDM-VTON", True),
    ("chflame163/ComfyUI_CatVTON_Wrapper", "ComfyUI_CatVTON_Wrapper", True),
    ("visualbruno/ComfyUI-Trellis2", "ComfyUI-Trellis2", True),
    ("if-ai/ComfyUI_HunyuanVideoFoley", "ComfyUI_HunyuanVideoFoley", True),
    # More widely used packs with loaders over ComfyUI's folders (or their own): Searge's
    # LLM (models/llm_gguf), MV-Adapter, StoryDiffusion, Limitex's Diffusers, Fill-Nodes,
    # AnyText, InfiniteYou (models/infinite_you), Hunyuan3D 2.1 (visualbruno), InstantIR,
    # and the HunyuanVideo 1.5 plugin.
    ("SeargeDP/ComfyUI_Searge_LLM", "ComfyUI_Searge_LLM", False),
    # MV-Adapter loads its adapters and pipelines from Hugging Face repositories.
    ("huanngzh/ComfyUI-MVAdapter", "ComfyUI-MVAdapter", True),
    ("smthemex/ComfyUI_StoryDiffusion", "ComfyUI_StoryDiffusion", False),
    ("Limitex/ComfyUI-Diffusers", "ComfyUI-Diffusers", False),
    ("filliptm/ComfyUI_Fill-Nodes", "ComfyUI_Fill-Nodes", False),
    ("zmwv823/ComfyUI_Anytext", "ComfyUI_Anytext", False),
    ("bytedance/ComfyUI_InfiniteYou", "ComfyUI_InfiniteYou", False),
    ("visualbruno/ComfyUI-Hunyuan3d-2-1", "ComfyUI-Hunyuan3d-2-1", False),
    ("smthemex/ComfyUI_InstantIR_Wrapper", "ComfyUI_InstantIR_Wrapper", False),
    ("yuanyuan-spec/comfyui_hunyuanvideo_1.5_plugin", "comfyui_hunyuanvideo_1.5_plugin", False),
    # Fetching their own weights: kijai's Lumina wrapper (DownloadAndLoadLuminaModel),
    # LatentSync (its checkpoints from Hugging Face) and 1038lab's OmniGen.
    ("kijai/ComfyUI-LuminaWrapper", "ComfyUI-LuminaWrapper", True),
    ("ShmuelRonen/ComfyUI-LatentSyncWrapper", "ComfyUI-LatentSyncWrapper", True),
    ("1038lab/ComfyUI-OmniGen", "ComfyUI-OmniGen", True),
    # EasyAnimate, VideoX-Fun's predecessor (its LoRA loader lists loras); StartHua's
    # joy_caption (Llama and CLIP repository ids, download_hg_model like EvilBT's).
    ("aigc-apps/EasyAnimate", "EasyAnimate", False),
    ("StartHua/Comfyui_CXH_joy_caption", "Comfyui_CXH_joy_caption", True),
    # Session 10: packs whose loader-like node types (extension-node-map, by stars) the
    # table lacked: LoRA / checkpoint / VAE selectors and stacks over ComfyUI's folders,
    # Sana (Lightning), NF4 checkpoints, Flowty's TripoSR / CRM / LDSR, Step1X-Edit, and
    # smthemex's DiffuEraser, YuE, Sapiens and SVFR (their own folder types).
    ("idrirap/ComfyUI-Lora-Auto-Trigger-Words", "ComfyUI-Lora-Auto-Trigger-Words", False),
    ("civitai/civitai_comfy_nodes", "civitai_comfy_nodes", False),
    ("CosmicLaca/ComfyUI_Primere_Nodes", "ComfyUI_Primere_Nodes", False),
    ("chaosaiart/Chaosaiart-Nodes", "Chaosaiart-Nodes", False),
    ("portu-sim/comfyui_bmab", "comfyui_bmab", False),
    ("shenduldh/ComfyUI-Lightning", "ComfyUI-Lightning", False),
    ("comfyanonymous/ComfyUI_bitsandbytes_NF4", "ComfyUI_bitsandbytes_NF4", False),
    ("VykosX/ControlFlowUtils", "ControlFlowUtils", False),
    ("mirabarukaso/ComfyUI_Mira", "ComfyUI_Mira", False),
    ("facok/ComfyUI-HunyuanVideoMultiLora", "ComfyUI-HunyuanVideoMultiLora", False),
    ("Nuked88/ComfyUI-N-Nodes", "ComfyUI-N-Nodes", False),
    ("picturesonpictures/comfy_PoP", "comfy_PoP", False),
    ("flowtyone/ComfyUI-Flowty-TripoSR", "ComfyUI-Flowty-TripoSR", False),
    ("flowtyone/ComfyUI-Flowty-CRM", "ComfyUI-Flowty-CRM", False),
    ("flowtyone/ComfyUI-Flowty-LDSR", "ComfyUI-Flowty-LDSR", False),
    ("quank123wip/ComfyUI-Step1X-Edit", "ComfyUI-Step1X-Edit", False),
    ("smthemex/ComfyUI_DiffuEraser", "ComfyUI_DiffuEraser", False),
    ("smthemex/ComfyUI_YuE", "ComfyUI_YuE", False),
    ("smthemex/ComfyUI_Sapiens", "ComfyUI_Sapiens", False),
    ("smthemex/ComfyUI_SVFR", "ComfyUI_SVFR", False),
    ("justUmen/Bjornulf_custom_nodes", "Bjornulf_custom_nodes", False),
    ("chibiace/ComfyUI-Chibi-Nodes", "ComfyUI-Chibi-Nodes", False),
    ("JPS-GER/ComfyUI_JPS-Nodes", "ComfyUI_JPS-Nodes", False),
    ("BennyKok/comfyui-deploy", "comfyui-deploy", False),
    ("logtd/ComfyUI-FLATTEN", "ComfyUI-FLATTEN", False),
    ("thecooltechguy/ComfyUI-Stable-Video-Diffusion", "ComfyUI-Stable-Video-Diffusion", False),
    ("chaojie/ComfyUI-DragNUWA", "ComfyUI-DragNUWA", False),
    # Chroma and FluxMod loaders, mapped by a loop over its classes (loader_mappings.py).
    ("lodestone-rock/ComfyUI_FluxMod", "ComfyUI_FluxMod", False),
    # ControlNet loaders for Flux (InstantX Union, TheMisto), kijai's BrushNet and
    # depth-fm wrappers, llama.cpp models (models/llm), utils-nodes, and InstantID
    # faceswap; LykosAI's Inference-Core (Fooocus prompt expansion).
    ("EeroHeikkinen/ComfyUI-eesahesNodes", "ComfyUI-eesahesNodes", False),
    ("TheMistoAI/MistoControlNet-Flux-dev", "MistoControlNet-Flux-dev", False),
    ("kijai/ComfyUI-BrushNet-Wrapper", "ComfyUI-BrushNet-Wrapper", False),
    ("kijai/ComfyUI-depth-fm", "ComfyUI-depth-fm", False),
    ("daniel-lewis-ab/ComfyUI-Llama", "ComfyUI-Llama", False),
    ("zhangp365/ComfyUI-utils-nodes", "ComfyUI-utils-nodes", False),
    ("nosiu/comfyui-instantId-faceswap", "comfyui-instantId-faceswap", False),
    ("LykosAI/ComfyUI-Inference-Core-Nodes", "ComfyUI-Inference-Core-Nodes", False),
    # Nunchaku Qwen-Image / Z-Image LoRA loaders and stacks, DreamO, sn0w's LoRA
    # selectors and a video upscaler over upscale_models.
    ("ussoewwin/ComfyUI-QwenImageLoraLoader", "ComfyUI-QwenImageLoraLoader", False),
    ("jax-explorer/ComfyUI-DreamO", "ComfyUI-DreamO", False),
    ("sn0w12/ComfyUI-Sn0w-Scripts", "ComfyUI-Sn0w-Scripts", False),
    ("ShmuelRonen/ComfyUI-VideoUpscale_WithModel", "ComfyUI-VideoUpscale_WithModel", False),
    # Loader-like node types of the extension-node-map, by stars: MotionCtrl (and SVD),
    # UltraPixel, LCM Inpaint/Outpaint, Core ML suite, Stable-Makeup, PhotoDoodle, Ruyi.
    ("chaojie/ComfyUI-MotionCtrl", "ComfyUI-MotionCtrl", False),
    ("chaojie/ComfyUI-MotionCtrl-SVD", "ComfyUI-MotionCtrl-SVD", False),
    ("2kpr/ComfyUI-UltraPixel", "ComfyUI-UltraPixel", False),
    ("taabata/LCM_Inpaint_Outpaint_Comfy", "LCM_Inpaint_Outpaint_Comfy", False),
    ("aszc-dev/ComfyUI-CoreMLSuite", "ComfyUI-CoreMLSuite", False),
    ("smthemex/ComfyUI_Stable_Makeup", "ComfyUI_Stable_Makeup", False),
    ("smthemex/ComfyUI_PhotoDoodle", "ComfyUI_PhotoDoodle", False),
    ("IamCreateAI/Ruyi-Models", "Ruyi-Models", False),
)

# Upstream commits read from a fork's snapshot: where the snapshot of a pack's own
# repository here is older than a commit of that repository which a fork's snapshot
# holds, the table reads that commit from the fork, and still names the upstream
# repository and commit, never the fork's own changes.
UPSTREAM_IN_FORKS: dict[str, tuple[str, str]] = {
    # kijai's 2026-05-24 "Don't count .disabled as duplicate": MultiTalk, InfiniteTalk,
    # LongCat and NLF loaders that kijai's own snapshot here (2025-03) predates.
    "kijai/ComfyUI-WanVideoWrapper": (
        "rookiestar28/ComfyUI-WanVideoWrapper",
        "088128b224242e110d3906c6750e9a3a348a659b",
    ),
}


SKIPPED_PARTS = frozenset({"tests", "test", "venv", ".venv", "node_modules", "site-packages"})


def _git(git_dir: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), *args], check=True, capture_output=True, text=True
    ).stdout


def _python_files(git_dir: Path, revision: str) -> Iterator[tuple[str, bytes]]:
    names = [
        name
        for name in _git(git_dir, "ls-tree", "-r", "--name-only", revision).splitlines()
        if name.endswith(".py") and not SKIPPED_PARTS & set(name.split("/")[:-1])
    ]
    for name in sorted(names):
        blob = subprocess.run(
            ["git", "--git-dir", str(git_dir), "show", f"{revision}:{name}"],
            check=True,
            capture_output=True,
        ).stdout
        yield name, blob


def _git_dir(mirrors: Path, repo: str) -> Path | None:
    base = mirrors / repo.replace("/", "+")
    for candidate in (base / "repo", base):
        if (candidate / "HEAD").is_file():
            return candidate
    return None


def _has_commit(git_dir: Path, commit: str) -> bool:
    found = subprocess.run(
        ["git", "--git-dir", str(git_dir), "cat-file", "-e", f"{commit}^{{commit}}"],
        capture_output=True,
    )
    return found.returncode == 0


def _committed(git_dir: Path, revision: str) -> int:
    return int(_git(git_dir, "log", "-1", "--format=%ct", revision).strip())


def snapshot(mirrors: Path, repo: str) -> tuple[Path, str] | None:
    """Return the git directory and the commit to read ``repo``'s pack from, or None.

    The pack's own snapshot at its HEAD, unless :data:`UPSTREAM_IN_FORKS` names a newer
    commit of the pack's own that a fork's snapshot holds: then the fork's git directory
    at that commit.
    """
    own = _git_dir(mirrors, repo)
    chosen = (own, _git(own, "rev-parse", "HEAD").strip()) if own is not None else None
    fork, commit = UPSTREAM_IN_FORKS.get(repo, ("", ""))
    fork_dir = _git_dir(mirrors, fork) if fork else None
    if fork_dir is None or not _has_commit(fork_dir, commit):
        return chosen
    if chosen is None or _committed(fork_dir, commit) > _committed(*chosen):
        chosen = (fork_dir, commit)
    return chosen


HISTORY_BEFORE: tuple[str, ...] = ("2025-07-01", "2025-01-01", "2024-07-01")
"""Besides the snapshot's commit, each pack is read at its last commit before each of
these dates; node types defined there and no longer since keep that commit's entry."""


def _history(git_dir: Path, commit: str) -> list[str]:
    """The pack's last commits before :data:`HISTORY_BEFORE`'s dates, newest first,
    each once, none the snapshot's own commit."""
    found: list[str] = []
    for date in HISTORY_BEFORE:
        # A date alone would take the time of day the build runs (git's approxidate).
        before = f"--before={date} 00:00:00 +0000"
        older = _git(git_dir, "rev-list", "-1", before, commit).strip()
        if older and older != commit and older not in found:
            found.append(older)
    return found


def _read_commit(
    repo: str, pack: str, downloads: bool, git_dir: Path, commit: str
) -> tuple[list[dict[str, object]], set[str], str]:
    """The entries of ``repo`` at ``commit``, the node types it defines, and a message."""
    committed = _committed(git_dir, commit)
    files = list(_python_files(git_dir, commit))
    registration = registration_file(repo, files)
    if registration is not None:
        files.append(registration)
    loaders, problems = learn_loaders(files)
    classes: set[str] = set()
    for name, data in files:
        classes |= node_classes_in_source(data.decode("utf-8", "replace"), name)
    common = {"pack": pack, "repository": f"https://github.com/{repo}", "commit": commit}
    entries: list[dict[str, object]] = []
    for loader in loaders:
        folder_inputs = {"folder_inputs": list(loader.folder_inputs)}
        entries.append(
            {
                **(folder_inputs if loader.folder_inputs else {}),
                "node_type": loader.node_type,
                **common,
                "widgets": list(loader.widgets),
                "inputs": {name: list(folders) for name, folders in loader.model_inputs},
                "wraps": loader.wraps,
                "downloads_own_files": False,
                "source": loader.source,
                "_committed": committed,
            }
        )
    seen = {loader.node_type for loader in loaders}
    for node_type in sorted(classes - seen) if downloads else ():
        entries.append(
            {
                "node_type": node_type,
                **common,
                "widgets": [],
                "inputs": {},
                "wraps": None,
                "downloads_own_files": True,
                "source": "",
                "_committed": committed,
            }
        )
    problems_said = [f"{repo}: {problem}" for problem in problems]
    message = "\n".join(
        [*problems_said, f"{repo}@{commit[:10]}: {len(loaders)} loaders from {len(files)} files."]
    )
    return entries, classes | seen, message


def build(mirrors: Path, previous: object = None) -> tuple[dict[str, object], list[str]]:
    """Return the table document and the messages for packs left out or read in part.

    ``previous`` is the table document built before (or None): its entries of packs still
    listed that this build does not produce are kept as they were."""
    entries: list[dict[str, object]] = []
    messages: list[str] = []
    for repo, pack, downloads in PACKS:
        found = snapshot(mirrors, repo)
        if found is None:
            messages.append(f"{repo}: no snapshot under {mirrors}; left out.")
            continue
        git_dir, commit = found
        defined: set[str] = set()  # node types a newer commit read here defines
        for index, revision in enumerate([commit, *_history(git_dir, commit)]):
            read, classes, message = _read_commit(repo, pack, downloads, git_dir, revision)
            if index == 0:
                entries.extend(read)
                messages.append(message)
            else:
                # An older commit: only the node types no newer one defines (renamed or
                # removed since; workflows saved with that version still name them).
                gone = [e for e in read if e["node_type"] not in defined]
                entries.extend(gone)
                if gone:
                    messages.append(f"{repo}@{revision[:10]}: {len(gone)} node types since gone.")
            defined |= classes
    # Several snapshots of one pack (a fork newer than the original): the newest wins.
    newest: dict[tuple[str, str], dict[str, object]] = {}
    for entry in entries:
        key = (str(entry["node_type"]), str(entry["pack"]))
        held = newest.get(key)
        if held is None or int(str(entry["_committed"])) > int(str(held["_committed"])):
            newest[key] = entry
    kept = _carried_over(previous, set(newest))
    if kept:
        messages.append(f"{len(kept)} entries kept from the previous table.")
    entries = [
        {name: value for name, value in entry.items() if name != "_committed"}
        for _, entry in sorted([*newest.items(), *kept.items()])
    ]
    document = {
        "schema_version": 1,
        "generator": "tools/build_loader_table.py",
        "entries": entries,
    }
    return document, messages


def _carried_over(
    previous: object, built: set[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, object]]:
    """The previous table's entries of packs still listed that this build lacks."""
    listed = {f"https://github.com/{repo}" for repo, _, _ in PACKS}
    old = previous.get("entries") if isinstance(previous, dict) else None
    kept: dict[tuple[str, str], dict[str, object]] = {}
    for entry in old if isinstance(old, list) else []:
        if not isinstance(entry, dict) or entry.get("repository") not in listed:
            continue
        key = (str(entry.get("node_type")), str(entry.get("pack")))
        if key not in built and key not in kept:
            kept[key] = entry
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mirrors", type=Path)
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).resolve().parents[1]
        / "watchman"
        / "comfy"
        / "data"
        / "bundled_loaders.json",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="keep nothing of the previous table (packs without a snapshot are left out)",
    )
    arguments = parser.parse_args(argv)
    previous = None
    if not arguments.fresh and arguments.output.is_file():
        previous = json.loads(arguments.output.read_text(encoding="utf-8"))
    document, messages = build(arguments.mirrors, previous)
    for message in messages:
        print(message, file=sys.stderr)
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(
        json.dumps(document, indent=1, ensure_ascii=False, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
