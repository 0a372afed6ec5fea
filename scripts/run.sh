#!/usr/bin/env bash
# Install what is needed and start the app on the configured database (default: the embedded SQLite file data/cyp.db).
#
#   bash scripts/run.sh                        # http://localhost:8501
#   bash scripts/run.sh --server.port 8600     # extra arguments go to `streamlit run serve.py`
#
# An empty database is filled with clearly labelled demo returns unless CYP_DEMO_ON_EMPTY=0.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/bootstrap.sh

.venv/bin/python -m cyp init

if [[ ${CYP_DEMO_ON_EMPTY:-1} == 1 ]]; then
  .venv/bin/python -m cyp demo --if-empty
fi

exec .venv/bin/streamlit run serve.py "$@"
