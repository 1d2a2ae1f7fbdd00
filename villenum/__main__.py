"""Allow ``python -m villenum``."""

from villenum.cli import main

raise SystemExit(main())
