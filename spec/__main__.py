"""``python -m spec run --adapter refjax|jax [--backend B] [--only TOPIC]``."""

from __future__ import annotations

import sys

from spec.runner import main

sys.exit(main())
