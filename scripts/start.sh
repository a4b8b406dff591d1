#!/usr/bin/env bash
# Runs Tessera: builds the app and starts the coordinator, which serves the
# app, the data shards, the run's WebSocket and its API at
# http://127.0.0.1:${PORT:-8080}. Every default is embedded; the run's state
# lives in ${TESSERA_DB:-.tessera/run.sqlite} and survives restarts.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
npx vite build --logLevel warn
echo "Tessera: http://${HOST:-127.0.0.1}:${PORT:-8080}"
exec npx vite-node server/main.ts -- --host "${HOST:-127.0.0.1}" --port "${PORT:-8080}" --db "${TESSERA_DB:-.tessera/run.sqlite}" "$@"
