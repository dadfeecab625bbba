#!/usr/bin/env bash
# A tryout cluster on one machine: PostgreSQL + RabbitMQ (started or installed by .ci/services.sh),
# moto's S3 server, two API nodes (ports 8081, 8082) and two worker nodes. Ctrl-C stops it all.
#
#   bash examples/cluster/run.sh            # from the repository root, after `make install`
#
# Then point the SDK at either API node: CosConfig(..., IP='127.0.0.1', Port=8081, Scheme='http').
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-.venv/bin}
WORK=${WORK:-$(mktemp -d -t ci-jobs-cluster-XXXX)}
DB=${DB:-ci_jobs_cluster}
S3_PORT=${S3_PORT:-9010}

bash .ci/services.sh
psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE $DB" >/dev/null

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; echo "cluster stopped (data in $WORK)"; }
trap cleanup EXIT INT TERM

"$BIN/moto_server" -H 127.0.0.1 -p "$S3_PORT" >"$WORK/s3.log" 2>&1 & pids+=($!)

cat >"$WORK/cluster.toml" <<TOML
[server]
store = "postgresql://postgres@127.0.0.1:5432/$DB"
storage = "s3://test:test@127.0.0.1:$S3_PORT/?region=us-east-1&secure=false"
migrate_on_start = false

[scheduler]
workers = 1
fast_lane = 1

[mq]
url = "amqp://guest:guest@127.0.0.1:5672/"
TOML

sleep 1
"$BIN/ci-jobs" migrate --config "$WORK/cluster.toml"
for port in 8081 8082; do
  mkdir -p "$WORK/api-$port"
  "$BIN/ci-jobs" serve --no-workers --config "$WORK/cluster.toml" --port "$port" --data-dir "$WORK/api-$port" \
    >"$WORK/api-$port.log" 2>&1 & pids+=($!)
done
for n in 1 2; do
  mkdir -p "$WORK/worker-$n"
  "$BIN/ci-jobs" worker --config "$WORK/cluster.toml" --data-dir "$WORK/worker-$n" \
    >"$WORK/worker-$n.log" 2>&1 & pids+=($!)
done
echo "cluster up: API nodes http://127.0.0.1:8081 and :8082, S3 on :$S3_PORT, logs in $WORK"
echo "try: CI_JOBS_PORT=8081 $BIN/python examples/sdk_transcode.py"
wait
