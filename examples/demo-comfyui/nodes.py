# Demo stand-in for ComfyUI's nodes.py. comfywatchman reads NODE_CLASS_MAPPINGS from it
# statically (with ast); it is never imported.


class _DemoNode:
    pass


class SaveImage:
    # As ComfyUI's own: the node a prompt is run from.
    OUTPUT_NODE = True


NODE_CLASS_MAPPINGS = {
    "KSampler": _DemoNode,
    "CheckpointLoaderSimple": _DemoNode,
    "CLIPTextEncode": _DemoNode,
    "VAEDecode": _DemoNode,
    "VAELoader": _DemoNode,
    "LoraLoader": _DemoNode,
    "EmptyLatentImage": _DemoNode,
    "SaveImage": SaveImage,
    "LoadImage": _DemoNode,
    "CLIPLoader": _DemoNode,
    "UpscaleModelLoader": _DemoNode,
}
