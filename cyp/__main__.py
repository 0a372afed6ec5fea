"""``python -m cyp``: the command line."""

from cyp.cli import main

if __name__ == "__main__":
    main()
