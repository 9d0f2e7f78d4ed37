"""``python -m arbitrade``: the same command line as the ``arbitrade`` console script."""

from arbitrade.cli import main

raise SystemExit(main())
