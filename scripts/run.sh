#!/usr/bin/env bash
# Run the whole product on one machine: migrate, load demo data, start a Celery worker (with
# its beat scheduler for the stuck-attempt sweep) and the web server. Ctrl-C stops both.
set -euo pipefail

PORT=${PORT:-8000}
export DEMO_MODE=${DEMO_MODE:-1}
PY=.venv/bin/python

# Settings from .env (see .env.example); variables already in the environment win.
if [ -f .env ]; then
  while IFS='=' read -r key value; do
    case "$key" in ''|\#*) continue ;; esac
    value=${value%%#*}
    value=${value%"${value##*[![:space:]]}"}
    [ -z "${!key+x}" ] && export "$key=$value"
  done < .env
fi

$PY manage.py migrate --noinput >/dev/null
$PY manage.py seed_demo

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "Stopping…"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

.venv/bin/celery -A tutor worker --beat --concurrency "${WORKER_CONCURRENCY:-1}" \
  --loglevel "${WORKER_LOGLEVEL:-info}" --without-gossip --without-mingle &
pids+=($!)
$PY manage.py runserver "127.0.0.1:${PORT}" --noreload --skip-checks &
pids+=($!)

cat <<MSG

  Pronunciation Tutor is running on http://127.0.0.1:${PORT}/

  Demo logins (username / password):
    learner / learner-demo-pass    records lessons and sees feedback
    teacher / teacher-demo-pass    follows the demo class
    admin   / admin-demo-pass      configures lessons (http://127.0.0.1:${PORT}/admin/)

  Press Ctrl-C to stop the web server and the worker.

MSG
wait -n "${pids[@]}"
