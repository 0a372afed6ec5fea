#!/usr/bin/env bash
# Create .venv and install the pinned requirements; a no-op when nothing changed since the last run.
#
#   bash scripts/bootstrap.sh          # runtime requirements (requirements.txt)
#   bash scripts/bootstrap.sh --dev    # runtime + test/lint tools (requirements-dev.txt)
#
# The stamp file .venv/.cyp-requirements-<kind>.sha256 records the hash of the requirement files (and the Python
# version) of the last successful install, so a second run costs a fraction of a second.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

kind=runtime
requirements=requirements.txt
case "${1:-}" in
  --dev) kind=dev; requirements=requirements-dev.txt ;;
  "") ;;
  *) echo "usage: bash scripts/bootstrap.sh [--dev]" >&2; exit 2 ;;
esac

python=${PYTHON:-python3}
if ! command -v "$python" >/dev/null 2>&1; then
  echo "bootstrap: $python not found; install Python 3.11 or newer (or set PYTHON=/path/to/python3)" >&2
  exit 1
fi

if [[ ! -x .venv/bin/python ]]; then
  echo "bootstrap: creating .venv with $($python --version)"
  if ! "$python" -m venv .venv; then
    # Debian's own python3 ships venv separately; the Python the brief assumes may be either.
    echo "bootstrap: '$python -m venv' failed; installing Debian's python3-venv and retrying" >&2
    rm -rf .venv
    sudo=""
    [[ $(id -u) -ne 0 ]] && sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv
    "$python" -m venv .venv
  fi
fi

# Hash every file the chosen requirements pull in (requirements-dev.txt includes requirements.txt).
requirements_hash() {
  {
    .venv/bin/python --version
    cat requirements.txt
    if [[ $1 == dev ]]; then cat requirements-dev.txt; fi
  } | sha256sum | cut -d' ' -f1
}
stamp_matches() {
  [[ -f .venv/.cyp-requirements-$1.sha256 && $(cat ".venv/.cyp-requirements-$1.sha256") == "$(requirements_hash "$1")" ]]
}

# An up-to-date dev install includes everything the runtime needs.
if stamp_matches "$kind" || { [[ $kind == runtime ]] && stamp_matches dev; }; then
  echo "bootstrap: .venv is up to date ($requirements unchanged)"
  exit 0
fi

echo "bootstrap: installing $requirements into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
requirements_hash "$kind" >".venv/.cyp-requirements-$kind.sha256"
echo "bootstrap: done"
