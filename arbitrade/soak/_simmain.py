"""Entry point of the soak's simulator child process (see :mod:`arbitrade.soak._simproc`):
``python -m arbitrade.soak._simmain SEED EXTRA_ASSETS``."""

import sys

import trio

from arbitrade.soak._simproc import serve_child

if __name__ == "__main__":
    trio.run(serve_child, int(sys.argv[1]), int(sys.argv[2]))
