ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}
# sbnn with its open-source hardware tools (Verilator, Yosys, cocotb) and the CPU build of torch.
# The default command runs the cycle-accurate regression suite, exactly as `make test-rtl` natively.
#
#   docker build -t sbnn .          # python:3.11-slim-bookworm from Docker Hub
#   docker run --rm sbnn            # the RTL regression (Verilator vs the bit-exact simulator)
#
# Works with the classic builder and with BuildKit (no BuildKit-only syntax), and with any Debian-
# based Python >= 3.10 base image: a torch==TORCH_VERSION already installed in the base image (as in
# the reference machine's local stand-in, built by ../shared/tools/local-docker) is used as it is;
# otherwise the CPU wheel comes from TORCH_INDEX_URL, never the CUDA build from PyPI.

# Keep TORCH_VERSION equal to the torch pin in pyproject.toml (a test checks it).
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# Optional extras of sbnn to install (pyproject.toml): hardware tools and test tools.
ARG SBNN_EXTRAS=hw,dev

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PIP_PROGRESS_BAR=off \
    PYTHONUNBUFFERED=1 \
    LANG=C.UTF-8

# Verilator's wrapper is a Perl script and it compiles the generated C++ with make and g++; cocotb
# loads the shared libpython, which Debian's python3 (unlike python:3.11-slim's) ships separately.
RUN pkgs="perl make g++" \
 && pyver=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])') \
 && if ! python3 -c "import ctypes.util as u, sys; sys.exit(u.find_library('python$pyver') is None)"; then \
        pkgs="$pkgs libpython$pyver"; \
    fi \
 && apt-get update \
 && apt-get install -y --no-install-recommends $pkgs \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin

# A non-root user owns the source tree and the caches (Verilator builds, Yosys' WebAssembly JIT).
RUN useradd --create-home --uid 1000 --shell /bin/bash sbnn \
 && install -d -o sbnn -g sbnn /sbnn /home/sbnn/.cache

# One Python environment, /opt/venv, first on PATH. A base image that already has it (the local
# stand-in) keeps it; otherwise it is created with --system-site-packages so that a torch installed
# in the base image's own Python stays visible.
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH
RUN if [ ! -x /opt/venv/bin/python ]; then python3 -m venv --system-site-packages /opt/venv; fi \
 && python -c "import sys; assert sys.prefix == '/opt/venv', sys.prefix"

# torch first and alone (the biggest layer, rarely changes): the CPU wheel unless one is present.
RUN if python -c "import sys, torch; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then \
        echo "torch $TORCH_VERSION is already installed in the base image: keeping it"; \
    else \
        pip install --index-url "$TORCH_INDEX_URL" "torch==$TORCH_VERSION"; \
    fi \
 && python -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda); assert torch.version.cuda is None, 'CUDA torch'"

# Dependencies before sources: this layer is rebuilt only when pyproject.toml changes. pip sees the
# torch above as satisfying torch==TORCH_VERSION and downloads no other (checked: no nvidia-* wheels).
COPY pyproject.toml docker/requirements.py /tmp/sbnn-deps/
RUN python /tmp/sbnn-deps/requirements.py --pyproject /tmp/sbnn-deps/pyproject.toml --extras "$SBNN_EXTRAS" \
        > /tmp/sbnn-deps/requirements.txt \
 && pip install -r /tmp/sbnn-deps/requirements.txt \
 && if pip list 2>/dev/null | grep -i '^nvidia-'; then echo "CUDA wheels were installed" >&2; exit 1; fi \
 && python -c "import torch; assert torch.version.cuda is None and torch.__version__.startswith('$TORCH_VERSION'), torch.__version__" \
 && python -c "from find_libpython import find_libpython as f; assert f(), 'cocotb finds no libpython'" \
 && rm -rf /tmp/sbnn-deps

# The sources last, installed editable (as `make setup` does), so that a working tree mounted over
# /sbnn is what runs. The stamp tells the Makefile that /opt/venv is set up (`make VENV=/opt/venv`).
COPY --chown=sbnn:sbnn . /sbnn
WORKDIR /sbnn
RUN pip install --no-deps --no-build-isolation -e . \
 && rm -rf /sbnn/build /sbnn/*.egg-info \
 && touch /opt/venv/.installed \
 && pip check

USER sbnn
ENV VENV=/opt/venv
CMD ["make", "--no-print-directory", "test-rtl", "VENV=/opt/venv", "-o", "/opt/venv/.installed"]
