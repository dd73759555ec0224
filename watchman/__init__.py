"""comfywatchman: keeps a ComfyUI install ready for the workflows its owner collects."""

__version__ = "0.1.0"
