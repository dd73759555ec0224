# Demo stand-in for a comfy_extras module; read statically, never imported.
NODE_CLASS_MAPPINGS = {
    "ImageUpscaleWithModel": object,
}
