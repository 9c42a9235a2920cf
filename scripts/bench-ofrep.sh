#!/usr/bin/env bash
# OFREP throughput of ramp beside the go-feature-flag relay proxy, measured the same way
# in the same run (../shared/bench/README.md's recipe: wrk on the same 2 cores, loopback).
#
#   scripts/bench-ofrep.sh                       # ramp only
#   RELAYPROXY=/path/to/relayproxy scripts/bench-ofrep.sh
#
# Build the relay proxy as ../shared/BENCHMARKS.md says:
#   dir=$(go mod download -json github.com/thomaspoignant/go-feature-flag@v1.55.2 | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
#   (cd "$dir" && GOFLAGS=-mod=mod go build -o /tmp/relayproxy ./cmd/relayproxy)
# Needs wrk (apt-get install -y wrk) and python3 for the semantic check.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED_DIR:-$top/../shared}
lua=$shared/bench/ofrep-load.lua
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk"; exit 1; }
go build -o "$work/ramp" "$top/cmd/ramp"

# check URL AUTH STYLE: all DE/FR units on, 23–27 % of the others on, stable.
check() {
  python3 - "$@" <<'PY'
import json, sys, urllib.request
url, auth, style = sys.argv[1], sys.argv[2], sys.argv[3]
countries = ["DE", "US", "FR", "GB", "ES", "IT", "PL", "NL"]
def ask(i):
    key = "user-%08x-%04d" % ((i * 2654435761) % 4294967296, i)
    c = countries[i % 8]
    if style == "ofrep":
        body = {"context": {"targetingKey": key, "country": c}}
        req = urllib.request.Request(url + "/ofrep/v1/evaluate/flags/rollout-flag", json.dumps(body).encode(), {"Content-Type": "application/json"})
        if auth: req.add_header("Authorization", "Bearer " + auth)
        return c, json.load(urllib.request.urlopen(req))["value"]
rule_on = rest_on = rest = 0
answers = {}
for i in range(2000):
    c, v = ask(i)
    answers[i] = v
    if c in ("DE", "FR"):
        rule_on += v is True
    else:
        rest += 1; rest_on += v is True
assert rule_on == 500, f"DE/FR units on: {rule_on}/500"
share = rest_on / rest
assert 0.23 <= share <= 0.27, f"share of other units on: {share:.3f}"
assert all(ask(i)[1] == answers[i] for i in range(0, 2000, 97)), "answers changed on a second pass"
print(f"semantics ok: DE/FR 500/500 on, others {share:.1%} on, sticky")
PY
}

load() { # name url auth
  local name=$1 url=$2 auth=$3
  echo "== $name"
  AUTH=$auth MODE=ofrep wrk -t1 -c4 -d2s -s "$lua" "$url" >/dev/null
  AUTH=$auth MODE=ofrep wrk -t1 -c1 -d5s --latency -s "$lua" "$url" | grep RESULT | sed "s/^/$name unloaded /"
  AUTH=$auth MODE=ofrep wrk -t2 -c32 -d10s --latency -s "$lua" "$url" | grep RESULT | sed "s/^/$name loaded   /"
}

# ramp
(cd "$work" && ./ramp serve --addr 127.0.0.1:18071 --store "$work/data" --log-format text >"$work/ramp.out" 2>"$work/ramp.err") &
pids+=($!)
for _ in $(seq 100); do grep -q RAMP_TOKEN "$work/ramp.out" 2>/dev/null && break; sleep 0.1; done
export RAMP_URL=http://127.0.0.1:18071 RAMP_TOKEN=$(grep -o 'ramp_api_[a-z0-9]*' "$work/ramp.out")
cat >"$work/flag.json" <<'JSON'
{"key": "rollout-flag", "type": "bool", "variants": {"on": true, "off": false}, "enabled": true,
 "rules": [{"conditions": [{"attribute": "country", "op": "in", "values": ["DE", "FR"]}], "serve": {"variant": "on"}}],
 "default": {"split": [{"variant": "on", "weight": 25000}, {"variant": "off", "weight": 75000}]}}
JSON
"$work/ramp" flags create -f "$work/flag.json" >/dev/null
key=$("$work/ramp" sdk-keys create -e production | tail -1)
check "$RAMP_URL" "$key" ofrep
load ramp "$RAMP_URL" "$key"

if [ -n "${RELAYPROXY:-}" ]; then
  sed "s#FLAGFILE#$shared/bench/flags.goff.yaml#" "$shared/bench/goff-relayproxy.yaml" >"$work/goff.yaml"
  "$RELAYPROXY" --config "$work/goff.yaml" >"$work/goff.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -sf http://127.0.0.1:1031/health >/dev/null && break; sleep 0.1; done
  check http://127.0.0.1:1031 "" ofrep
  load goff-relayproxy http://127.0.0.1:1031 ""
fi
