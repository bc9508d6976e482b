"""``python -m rsilab.cli``: the same as the ``rsilab`` command."""
from rsilab.cli import main

if __name__ == "__main__":
    main()
