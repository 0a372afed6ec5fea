#!/usr/bin/env bash
# Install what is needed and run the whole test suite: ruff, pytest (browser and PostgreSQL tests included), mypy.
#
#   bash scripts/test.sh                      # everything
#   bash scripts/test.sh -k quarters -x       # extra arguments go to pytest
#
# Installs Debian's chromium (the browser tests drive /usr/bin/chromium; nothing downloads a browser), postgresql
# (the tests start a throwaway cluster of their own), libreoffice-calc-nogui (soffice --headless writes the
# LibreOffice fixtures again) and npm when they are missing, and runs `npm ci` in tests/node (the HTML_CodeSniffer
# accessibility engine) when its node_modules is missing.
# CYP_TEST_WORKERS sets the number of pytest-xdist workers (default 2; 0 runs in one process).
# Exits with pytest's status, or, when the tests pass, ruff's or mypy's when either found problems.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/bootstrap.sh --dev

missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
# Without any font Chromium renders boxes; Liberation gives readable screenshots.
compgen -G "/usr/share/fonts/truetype/liberation*/*.ttf" >/dev/null || missing+=(fonts-liberation)
# The board pack PDF (Typst, PDF/UA-1) is set in DejaVu Sans, which has the status icons (✓ ● ▲ ✖) and £ – ’.
[[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || missing+=(fonts-dejavu-core)
# pdftoppm, to look at every page of a pack as PNG.
command -v pdftoppm >/dev/null || missing+=(poppler-utils)
# LibreOffice Calc writes the LibreOffice returns of tests/data/libreoffice/ again (tests/test_libreoffice.py).
command -v soffice >/dev/null || missing+=(libreoffice-calc-nogui)
# npm installs the second accessibility engine (HTML_CodeSniffer) that the browser tests inject beside axe.
command -v npm >/dev/null || missing+=(npm)

if ((${#missing[@]})); then
  echo "test: installing Debian packages: ${missing[*]}"
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
fi

# HTML_CodeSniffer, pinned by tests/node/package-lock.json, into tests/node/node_modules (ignored by git).
if [[ ! -d tests/node/node_modules ]]; then
  echo "test: npm ci in tests/node"
  (cd tests/node && npm ci --no-audit --no-fund)
fi

# Lint first but run the tests anyway, so one run shows every problem; either failing fails the script.
echo "test: ruff check, ruff format --check"
lint_status=0
.venv/bin/ruff check . || lint_status=$?
.venv/bin/ruff format --check . || lint_status=$?

echo "test: pytest"
workers=${CYP_TEST_WORKERS:-2}
xdist=()
[[ $workers != 0 ]] && xdist=(-n "$workers")
status=0
.venv/bin/pytest "${xdist[@]}" "$@" || status=$?

# After the tests, so a type error never hides a test result; the files and settings are in pyproject.toml.
echo "test: mypy"
type_status=0
.venv/bin/mypy || type_status=$?

if ((status == 0 && lint_status != 0)); then
  echo "test: tests passed but ruff found problems (see above)" >&2
  exit "$lint_status"
fi
if ((status == 0 && type_status != 0)); then
  echo "test: tests passed but mypy found type errors (see above)" >&2
  exit "$type_status"
fi
exit "$status"
