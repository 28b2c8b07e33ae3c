"""`python -m lakehouse ...` runs the `lakehouse` command (the crash tests start it this way)."""

from lakehouse.cli import main

if __name__ == "__main__":
    main()
