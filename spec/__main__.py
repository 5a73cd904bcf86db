"""``python -m spec run|show|list|mutate ...``: the runner's command line (spec/README.md)."""

from __future__ import annotations

import sys

from spec.runner import main

sys.exit(main())
