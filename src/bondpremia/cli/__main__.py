"""``python -m bondpremia.cli``: the command line."""

from bondpremia.cli import main

main()
