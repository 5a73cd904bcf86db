"""Numpy implementations of the reductions primitives."""

from __future__ import annotations
