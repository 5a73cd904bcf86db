"""Numpy implementations of the linalg primitives."""

from __future__ import annotations
