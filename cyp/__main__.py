"""``python -m cyp``: the command line."""

from cyp.cli import cli

if __name__ == "__main__":
    cli()
