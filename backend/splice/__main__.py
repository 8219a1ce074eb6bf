"""Allow ``python -m splice``."""

from splice.cli import main

raise SystemExit(main())
