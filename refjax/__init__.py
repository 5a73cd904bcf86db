"""refjax: a readable, fully typed reference implementation of JAX's core."""

from __future__ import annotations

from refjax import backends as backends
from refjax import checkpoint_policies as checkpoint_policies
from refjax import custom_derivatives as custom_derivatives
from refjax import debug as debug
from refjax import distributed as distributed
from refjax import dtypes as dtypes
from refjax import errors as errors
from refjax import experimental as experimental
from refjax import lax as lax
from refjax import nn as nn
from refjax import numpy as numpy
from refjax import profiler as profiler
from refjax import random as random
from refjax import scipy as scipy
from refjax import sharding as sharding
from refjax import stages as stages
from refjax import tree as tree
from refjax import tree_util as tree_util
from refjax.api import (
    ShapeDtypeStruct,
    checkpoint,
    closure_convert,
    eval_shape,
    grad,
    hessian,
    jacfwd,
    jacobian,
    jacrev,
    jit,
    jvp,
    linear_transpose,
    linearize,
    make_jaxpr,
    remat,
    value_and_grad,
    vjp,
    vmap,
)
from refjax.api_parallel import pmap, shard_map, typeof
from refjax.backends.base import (
    block_until_ready,
    default_backend,
    device_count,
    device_put,
    devices,
    local_device_count,
    local_devices,
    process_count,
    process_index,
)
from refjax.callbacks import pure_callback
from refjax.config import config, debug_infs, debug_nans, disable_jit, enable_x64
from refjax.distributed import make_array_from_process_local_data
from refjax.explainer import explain
from refjax.interp.core import Array
from refjax.primitives.custom_derivatives import custom_jvp, custom_vjp
from refjax.sharding import make_mesh

__version__ = "0.1.0"

__all__ = [
    "Array",
    "ShapeDtypeStruct",
    "block_until_ready",
    "checkpoint",
    "closure_convert",
    "config",
    "custom_jvp",
    "custom_vjp",
    "debug_infs",
    "debug_nans",
    "default_backend",
    "device_count",
    "device_put",
    "devices",
    "disable_jit",
    "enable_x64",
    "eval_shape",
    "explain",
    "grad",
    "hessian",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jit",
    "jvp",
    "linear_transpose",
    "linearize",
    "local_device_count",
    "local_devices",
    "make_array_from_process_local_data",
    "make_jaxpr",
    "make_mesh",
    "process_count",
    "pmap",
    "process_index",
    "pure_callback",
    "remat",
    "shard_map",
    "typeof",
    "value_and_grad",
    "vjp",
    "vmap",
]
