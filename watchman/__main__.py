"""Allow ``python -m watchman``."""

from watchman.commands.entry import main

if __name__ == "__main__":
    main()
