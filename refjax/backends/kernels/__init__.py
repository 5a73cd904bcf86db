"""The fusion compiler shared by the OpenCL and CUDA backends, and the backend they share.

``ir`` (the kernel IR), ``lower`` (primitives as IR), ``fusion`` (a jaxpr as a plan of kernels),
``render``/``dialects`` (IR to OpenCL C or CUDA source), ``evaluate`` (the IR's numpy reference),
``decompose`` (primitives rewritten as others for the planner), ``cache`` (compiled kernels in
memory and on disk) and ``backend`` (:class:`~backend.KernelBackend`, which runs plans on a
device runtime: ``opencl.py`` and ``cuda.py`` provide its hooks).
"""
