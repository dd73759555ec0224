# Demo stand-in for ComfyUI's main.py: comfywatchman only checks that it exists and
# never runs it.
raise SystemExit("This is comfywatchman's demo tree, not a real ComfyUI install.")
