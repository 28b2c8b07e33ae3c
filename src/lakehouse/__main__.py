"""`python -m lakehouse ...` runs the `lakehouse` command (the crash tests start it this way)."""

from lakehouse.cli.main import console_main

if __name__ == "__main__":
    console_main()
