#!/usr/bin/env bash
# The scaled-out topology on one machine (`make cluster`): PostgreSQL (Debian's package), a Chroma server, the
# model behind llama.cpp's OpenAI-compatible server, and API processes pointed at all three. Waits until each
# is healthy, prints where each runs, and stops them all on Ctrl-C. State stays in $CLUSTER_DIR between runs.
#
#   CLUSTER_DIR=/tmp/support-cluster PG_PORT=5433 CHROMA_PORT=8001 MODEL_PORT=8080 API_PORTS="8000 8002" \
#     sh scripts/cluster.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER_DIR=${CLUSTER_DIR:-/tmp/support-cluster}   # outside root-only folders: the postgres user reads it
PG_PORT=${PG_PORT:-5433}
CHROMA_PORT=${CHROMA_PORT:-8001}
MODEL_PORT=${MODEL_PORT:-8080}
API_PORTS=${API_PORTS:-"8000 8002"}
MODEL=${MODEL:-data/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf}
BIN=.venv/bin
LOGS=$CLUSTER_DIR/logs
pids=()

as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

stop_all() {
  trap - INT TERM EXIT
  echo "stopping..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 20); do  # 10 s to finish what they are doing, then they are killed
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.5
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  [ -n "${PG_BIN:-}" ] && as_postgres "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/pg" -m fast stop >/dev/null 2>&1 || true
  echo "stopped"
}

wait_for() {  # wait_for NAME URL LOG: poll URL until it answers 200, failing with the log's tail
  local name=$1 url=$2 log=$3
  for _ in $(seq 1 600); do
    status=$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)
    [ "$status" = 200 ] && return 0
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null || { echo "$name stopped; the end of $log:" >&2; tail -20 "$log" >&2; exit 1; }
    done
    sleep 0.5
  done
  echo "$name did not become healthy in 5 minutes; see $log" >&2
  exit 1
}

start() {  # start LOG COMMAND...: run in the background, output to LOG
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  pids+=("$!")
}

[ -x "$BIN/python" ] && [ -f "$MODEL" ] || { echo "set up first: make setup" >&2; exit 2; }
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || sh scripts/system-deps.sh postgresql
PG_BIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
mkdir -p "$CLUSTER_DIR/pg" "$CLUSTER_DIR/chroma" "$CLUSTER_DIR/api" "$LOGS"
[ "$(id -u)" = 0 ] && chown postgres "$CLUSTER_DIR/pg" "$LOGS"
interrupted=""
trap stop_all EXIT
trap 'interrupted=1; exit 0' INT TERM

# PostgreSQL: the store, the checkpoints, the event log, the shared rate limits and turn queue.
if [ ! -f "$CLUSTER_DIR/pg/PG_VERSION" ]; then
  as_postgres "$PG_BIN/initdb" -D "$CLUSTER_DIR/pg" -U support --auth=trust -E UTF8 >"$LOGS/initdb.log"
fi
as_postgres "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/pg" -l "$LOGS/postgres.log" -w \
  -o "-p $PG_PORT -h 127.0.0.1 -k $CLUSTER_DIR/pg" start >/dev/null
as_postgres "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U support support 2>/dev/null || true

# Chroma: the help center's vectors.
start "$LOGS/chroma.log" "$BIN/chroma" run --path "$CLUSTER_DIR/chroma" --host 127.0.0.1 --port "$CHROMA_PORT"
wait_for chroma "http://127.0.0.1:$CHROMA_PORT/api/v2/heartbeat" "$LOGS/chroma.log"

# The model, once, for every API process (llama-cpp-python's server holding the planner's prompt start before it
# listens); an answer streaming while another request waits is not cut short.
start "$LOGS/model.log" "$BIN/python" -m agent.llm.model_server --model "$MODEL" --model_alias qwen2.5-coder-1.5b \
  --host 127.0.0.1 --port "$MODEL_PORT" --n_ctx 4096 --interrupt_requests False
wait_for "model server" "http://127.0.0.1:$MODEL_PORT/v1/models" "$LOGS/model.log"

# The API processes: stateless, everything they share is in the three above.
export SUPPORT_LLM_BACKEND=openai SUPPORT_OPENAI_BASE_URL=http://127.0.0.1:$MODEL_PORT/v1
export SUPPORT_OPENAI_MODEL=qwen2.5-coder-1.5b
export SUPPORT_DATABASE_URL=postgresql+psycopg://support@127.0.0.1:$PG_PORT/support
export SUPPORT_CHECKPOINT_URL=postgresql://support@127.0.0.1:$PG_PORT/support
export SUPPORT_CHROMA_URL=http://127.0.0.1:$CHROMA_PORT
export SUPPORT_DATA_DIR=$CLUSTER_DIR/api
for port in $API_PORTS; do
  start "$LOGS/api-$port.log" "$BIN/python" server.py --port "$port"
done
for port in $API_PORTS; do
  wait_for "API on port $port" "http://127.0.0.1:$port/healthz" "$LOGS/api-$port.log"
done

cat <<EOF

The support agent runs scaled out (logs in $LOGS):
  PostgreSQL     postgresql://support@127.0.0.1:$PG_PORT/support   (data in $CLUSTER_DIR/pg)
  Chroma         http://127.0.0.1:$CHROMA_PORT
  model server   http://127.0.0.1:$MODEL_PORT/v1
EOF
for port in $API_PORTS; do echo "  API            http://127.0.0.1:$port/"; done
echo "Ctrl-C stops them all."
wait -n "${pids[@]}" || true
[ -n "$interrupted" ] || echo "a process stopped; see $LOGS" >&2
