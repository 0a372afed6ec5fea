#!/usr/bin/env bash
# Install what is needed and start the app on the configured database (default: the embedded SQLite file data/cyp.db).
#
#   bash scripts/run.sh                        # http://localhost:8501
#   bash scripts/run.sh --server.port 8600     # extra arguments go to `streamlit run`
#
# An empty database is filled with clearly labelled demo returns unless CYP_DEMO_ON_EMPTY=0.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/bootstrap.sh

.venv/bin/python -m cyp init

if [[ ${CYP_DEMO_ON_EMPTY:-1} == 1 ]]; then
  returns=$(
    .venv/bin/python - <<'PY'
from sqlalchemy import func, select

from cyp.db import read_session
from cyp.models import Return

with read_session() as session:
    print(session.scalar(select(func.count()).select_from(Return)))
PY
  )
  if [[ $returns == 0 ]]; then
    echo "run: the database has no returns; loading demo data (set CYP_DEMO_ON_EMPTY=0 to start empty)"
    .venv/bin/python -m cyp demo
  fi
fi

exec .venv/bin/streamlit run app.py "$@"
