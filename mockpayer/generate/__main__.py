"""`python -m mockpayer.generate`: `mockpayer generate` without the installed script, with the same options."""

import sys

from mockpayer.cli import main

if __name__ == "__main__":
    sys.exit(main(["generate", *sys.argv[1:]]))
