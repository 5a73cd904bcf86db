# Two commands, each doing its own set-up on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test test-slow lint typecheck unit unit-numpy unit-opencl test-mpi perf array-api clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,opencl,cuda,examples,mpi]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# The seed's walkthrough (refjax beside real JAX), then a short training run on the digits.
demo: $(STAMP)
	$(PY) examples/seed_walkthrough.py
	$(PY) examples/mnist_mlp.py --epochs 5 --plot build/mnist_curve.png

lint: $(STAMP)
	$(PY) -m ruff check refjax tests examples benchmarks spec

typecheck: $(STAMP)
	$(PY) -m mypy --strict refjax spec
	MYPYPATH=examples $(PY) -m mypy --strict examples/*.py

# The whole suite runs twice: on the numpy backend (with tests/backends, which compiles every
# generated CUDA kernel with NVRTC, and the spec, which runs every case on numpy, OpenCL and JAX),
# then on the OpenCL backend (PoCL), leaving out those two, which choose their backends themselves.
# Both leave out tests/parallel/mpi, which `test-mpi` runs once, after them.
unit: unit-numpy unit-opencl

unit-numpy: $(STAMP)
	REFJAX_REQUIRE_NVRTC=1 $(PY) -m pytest -n 2 --ignore=tests/parallel/mpi

unit-opencl: $(STAMP)
	REFJAX_BACKEND=opencl $(PY) -m pytest -n 2 --ignore=tests/backends --ignore=tests/test_spec.py --ignore=tests/fuzz \
		--ignore=tests/parallel/mpi

# Collectives across processes: tests/parallel/mpi start `mpirun -n 2` (the venv's, from the
# 'mpi' extra) themselves; here a missing MPI is a failure, not a skip.
test-mpi: $(STAMP)
	REFJAX_REQUIRE_MPI=1 $(PY) -m pytest -n 0 tests/parallel/mpi

test: lint typecheck unit test-mpi

# The long sweeps `make test` leaves out (marked slow: every spec case on real JAX, ...), by hand.
test-slow: $(STAMP)
	$(PY) -m pytest -n 2 -m slow

# Runs every benchmark once (a few minutes) and rewrites docs/performance.md; not part of `test`.
perf: $(STAMP)
	$(PY) benchmarks/perf_table.py

# The array API conformance suite (data-apis/array-api-tests, never fetched here: set
# ARRAY_API_TESTS_DIR to a checkout) on refjax.numpy and jax.numpy, printing both pass counts;
# not part of `test`, and installs nothing: the suite's requirements must be in $(VENV) already.
array-api:
	$(PY) benchmarks/array_api_conformance.py --suite "$(ARRAY_API_TESTS_DIR)"

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
