"""Allow ``python -m watchman``."""

from watchman.commands.cli import main

if __name__ == "__main__":
    main()
