"""Numpy implementations of the transcendental and special-function primitives."""

from __future__ import annotations

import numpy as np

from refjax.backends.numpy_impls.table import impls
from refjax.primitives import transcendental as tr

impls[tr.sin_p] = np.sin
impls[tr.cos_p] = np.cos
impls[tr.exp_p] = np.exp
impls[tr.log_p] = np.log
