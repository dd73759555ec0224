"""Knowledge of ComfyUI: model folders, extra_model_paths.yaml, finding the install.

Pure functions and data tables; nothing here imports ComfyUI or custom node code.
"""
