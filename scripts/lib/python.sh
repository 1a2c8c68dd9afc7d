# shellcheck shell=bash
# Sourced by scripts/demo and scripts/test: choose the Python that noderr is installed into.
#
# pick_python: sets PYTHON. An explicit $PYTHON or an active virtualenv is used as is. Otherwise
# python3, unless it is an "externally managed" interpreter (PEP 668: Debian 12's own python3,
# where `pip install` outside a virtualenv is refused); then the repository's .venv, created
# on first use (as root, installing the Debian package python3-venv if the venv module lacks
# ensurepip). Call it from the repository root.
pick_python() {
  if [[ -n ${PYTHON:-} || -n ${VIRTUAL_ENV:-} ]]; then
    PYTHON=${PYTHON:-python}
    return
  fi
  PYTHON=python3
  if ! command -v python3 >/dev/null; then
    echo "python3 not found: install Python 3.11 or newer (Debian: apt-get install python3)" >&2
    return 1
  fi
  if [[ -x .venv/bin/python ]]; then
    PYTHON=$PWD/.venv/bin/python
    return
  fi
  # The marker sits in the standard library's directory of a managed interpreter.
  if ! python3 -c 'import pathlib, sys, sysconfig
sys.exit(0 if pathlib.Path(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED").exists() else 1)'; then
    return
  fi
  echo "python3 is externally managed (PEP 668): installing into a virtualenv at .venv" >&2
  if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    if ((EUID != 0)); then
      echo "python3 lacks the venv module: apt-get install python3-venv (as root), then retry" >&2
      return 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv >&2
  fi
  python3 -m venv .venv
  PYTHON=$PWD/.venv/bin/python
}
