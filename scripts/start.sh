#!/usr/bin/env bash
# Runs Tessera: builds the app and serves it at http://127.0.0.1:${PORT:-8080}.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
npx vite build --logLevel warn
echo "Tessera: http://127.0.0.1:${PORT:-8080}"
exec npx vite preview --host "${HOST:-127.0.0.1}" --port "${PORT:-8080}" --strictPort
