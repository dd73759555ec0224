"""Allow ``python -m watchman``."""

from watchman.cli import main

if __name__ == "__main__":
    main()
