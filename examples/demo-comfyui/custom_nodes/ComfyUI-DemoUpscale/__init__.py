# A demo custom node pack: read statically by comfywatchman, never imported.
NODE_CLASS_MAPPINGS = {"DemoSharpen": object}
NODE_CLASS_MAPPINGS.update({"DemoBlur": object})
