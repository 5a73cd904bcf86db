"""Numpy implementations of the indexing primitives."""

from __future__ import annotations
