"""What is installed: model files and custom node packs, learned by reading the disk only."""
