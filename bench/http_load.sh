#!/usr/bin/env bash
# HTTP load on 127.0.0.1 with wrk, all in one run so the figures compare:
# a bare Deno.serve handler, the Vigil server's /health/live and /metrics,
# and Vigil's serve() against prom-client on registries of the same 100 and
# 10,000 series.
#
#   bash bench/http_load.sh            # 10 s per case
#   DURATION=5s bash bench/http_load.sh
#
# Needs wrk (Debian package wrk). Only loopback addresses are loaded.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}

if ! command -v wrk >/dev/null 2>&1; then
  echo "wrk is missing: apt-get install wrk" >&2
  exit 1
fi

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

# Starts a server, waits until it prints "ready", leaves its port in $port.
start() {
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  local log
  log=$(mktemp)
  deno run --allow-net=127.0.0.1 --allow-read --allow-env --allow-sys \
    bench/http_servers.ts "$1" "$port" "${2:-100}" >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    grep -q ready "$log" && return 0
    sleep 0.1
  done
  echo "server $1 did not start:" >&2
  cat "$log" >&2
  exit 1
}

# Loads a URL and prints its requests per second.
load() {
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$1" |
    awk '/Requests\/sec/ { print $2 }'
}

echo "| case | requests/s |"
echo "|---|---|"
start bare
echo "| bare Deno.serve, \"ok\" | $(load "http://127.0.0.1:$port/") |"
start vigil 100
echo "| Vigil server (default config) /health/live | $(load "http://127.0.0.1:$port/health/live") |"
echo "| Vigil server (default config) /metrics: 100 series + its own ~100 lines | $(load "http://127.0.0.1:$port/metrics") |"
start vigil-registry 100
echo "| Vigil serve(), registry of the same 100 series | $(load "http://127.0.0.1:$port/metrics") |"
start prom-client 100
echo "| prom-client, registry of the same 100 series | $(load "http://127.0.0.1:$port/metrics") |"
start vigil-registry 10000
echo "| Vigil serve(), 10,000 series | $(load "http://127.0.0.1:$port/metrics") |"
start prom-client 10000
echo "| prom-client, 10,000 series | $(load "http://127.0.0.1:$port/metrics") |"
echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(nproc) cores, deno $(deno --version | awk 'NR==1 {print $2}')"
