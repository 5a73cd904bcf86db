"""Every public name of JAX's array namespaces exists in refjax, apart from the exclusions below.

The names come from the installed JAX (``dir`` of each module, without leading underscores), so a
newer JAX that adds a function makes this test fail until refjax has it or it is excluded here
with its reason. An exclusion that refjax has since implemented fails too (the list stays true).
"""

from __future__ import annotations

import importlib
from typing import Final

import pytest

from tests.oracle import requires_jax

NAMESPACES: Final = {
    "jax.numpy": "refjax.numpy",
    "jax.numpy.linalg": "refjax.numpy.linalg",
    "jax.numpy.fft": "refjax.numpy.fft",
    "jax.lax": "refjax.lax",
    "jax.lax.linalg": "refjax.lax.linalg",
    "jax.scipy.special": "refjax.scipy.special",
    "jax.scipy.linalg": "refjax.scipy.linalg",
    "jax.scipy.stats": "refjax.scipy.stats",
}

# ml_dtypes' narrow floating and integer types. refjax's dtypes are numpy's: its backends (numpy,
# OpenCL C, CUDA C through NVRTC) have no arithmetic for these, so it offers none of them rather
# than types that would fail at the first operation.
_NARROW_TYPES: Final = {
    name: "an ml_dtypes narrow type; refjax's dtypes are numpy's (no backend arithmetic for it)"
    for name in ("bfloat16", "float4_e2m1fn", "float6_e2m3fn", "float6_e3m2fn", "float8_e3m4",
                 "float8_e4m3", "float8_e4m3b11fnuz", "float8_e4m3fn", "float8_e4m3fnuz",
                 "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu", "int1", "int2", "int4",
                 "uint1", "uint2", "uint4")
}

# Collectives and sharding still to come with the multi-device issue's pmap, shard_map and MPI
# parts (the collectives over vmap's named axes are in refjax.lax.parallel).
_COLLECTIVES: Final = {
    name: "a collective or sharding primitive: comes with pmap and shard_map"
    for name in ("pbroadcast", "precv", "psend", "ragged_all_to_all", "ragged_all_to_all_p",
                 "with_sharding_constraint", "sharding_constraint_p", "device_put_p")
}

EXCLUDED: Final[dict[str, dict[str, str]]] = {
    "jax.numpy": {**_NARROW_TYPES},
    "jax.lax": {
        **_COLLECTIVES,
        "scaled_dot": "its scales are float8_e8m0fnu / bfloat16 arrays (ml_dtypes types, above)",
        **dict.fromkeys(
            ["create_token", "create_token_p", "after_all", "after_all_p"],
            "XLA's effect-ordering tokens: refjax orders effects without a token type"),
        "select_and_scatter_p": "XLA's general select-and-scatter with select/scatter jaxprs; "
                                "no public function binds it and JAX gives it no JVP, transpose "
                                "or batching rule (refjax has select_and_scatter_add, which max "
                                "pooling's derivative uses)",
    },
}


def _public(module: str) -> set[str]:
    return {n for n in dir(importlib.import_module(module)) if not n.startswith("_")}


@requires_jax
@pytest.mark.parametrize("jax_name,ours", sorted(NAMESPACES.items()))
def test_refjax_has_every_public_name_of_jax(jax_name: str, ours: str) -> None:
    excluded = EXCLUDED.get(jax_name, {})
    theirs = _public(jax_name)
    module = importlib.import_module(ours)
    missing = sorted(n for n in theirs - excluded.keys() if not hasattr(module, n))
    assert not missing, f"{ours} lacks {len(missing)} names of {jax_name}: {missing}"


@requires_jax
@pytest.mark.parametrize("jax_name", sorted(EXCLUDED))
def test_exclusions_are_names_jax_has_and_refjax_lacks(jax_name: str) -> None:
    theirs = _public(jax_name)
    module = importlib.import_module(NAMESPACES[jax_name])
    for name, reason in EXCLUDED[jax_name].items():
        assert reason, name
        assert name in theirs, f"{jax_name}.{name} is no longer in JAX: drop the exclusion"
        assert not hasattr(module, name), f"refjax has {name} now: drop the exclusion"
