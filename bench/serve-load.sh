#!/usr/bin/env bash
# The serve heap under the reliability probe's load: starts `bin/loupe serve` with its default heap ceiling (bin/loupe
# sizes it), sends bench/serve-load.py's rounds of mixed requests and a round of malformed ones, and records the heap
# (jstat every 2 s and the GC log), the process's RSS (every second) and the answers. Needs python3 (standard library
# only) and the JDK's jstat; no other tool.
#
#   bench/serve-load.sh [--run DIR --model PATH --sae DIR] [--port N] [--out DIR] [-- serve-load.py options]
#
# Defaults: the demo's run, model and SAE (bin/demo or bin/demo-factbook plus its index command make them), port
# 7871, out target/serve-load/. Writes OUT/{jstat.txt,rss.csv,gc.log,serve.log,load.json} and prints a summary.
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
source "$root/bin/jdk.sh"
gen="$root/data/demo/generated/factbook"
run="$gen/factbook-run" model="$gen/lm" sae="$gen/sae-blocks.0.hook_resid_post" port=7871 out="$root/target/serve-load"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --run) run="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --sae) sae="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "serve-load: unknown option $1 (expected --run, --model, --sae, --port, --out, then -- and serve-load.py's options)" >&2; exit 2 ;;
  esac
done
[[ -f "$run/run.json" ]] || { echo "serve-load: --run $run has no run.json (make the demo run first: bin/demo)" >&2; exit 2; }
mkdir -p "$out"
rm -f "$out"/{jstat.txt,rss.csv,gc.log,serve.log,load.json}

# The GC log adds no -Xmx, so bin/loupe still sizes the heap.
LOUPE_JAVA_OPTS="${LOUPE_JAVA_OPTS:-} -Xlog:gc:file=$out/gc.log:uptime" \
  "$root/bin/loupe" serve --run "$run" --model "$model" --sae "$sae" --port "$port" > "$out/serve.log" 2>&1 &
pid=$!
stop() { kill "$pid" 2>/dev/null || true; [[ -n "${jstat_pid:-}" ]] && kill "$jstat_pid" 2>/dev/null; [[ -n "${rss_pid:-}" ]] && kill "$rss_pid" 2>/dev/null; true; }
trap stop EXIT
for _ in $(seq 600); do
  grep -q 'serving' "$out/serve.log" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$out/serve.log" >&2; exit 1; }
  sleep 0.5
done
python3 - "$port" <<'EOF' || { cat "$out/serve.log" >&2; exit 1; }
import sys, time, urllib.request
for _ in range(600):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/info", timeout=5).read(); sys.exit(0)
    except Exception: time.sleep(0.5)
sys.exit(1)
EOF
java_pid="$pid"   # bin/loupe execs java
"$JAVA_HOME/bin/jcmd" "$java_pid" VM.flags 2>/dev/null | tr ' ' '\n' | grep -E 'MaxHeapSize|InitialHeapSize|NewSize|UseSerialGC' > "$out/flags.txt" || true
"$JAVA_HOME/bin/jstat" -gc -t "$java_pid" 2000 > "$out/jstat.txt" 2>/dev/null &
jstat_pid=$!
( echo "seconds,rss_kib,hwm_kib"; read -r t0 _ < /proc/uptime
  while kill -0 "$java_pid" 2>/dev/null; do
    read -r now _ < /proc/uptime
    awk -v t="$now" -v t0="$t0" '/VmRSS/ {r=$2} /VmHWM/ {h=$2} END {printf "%.1f,%s,%s\n", t - t0, r, h}' "/proc/$java_pid/status" 2>/dev/null || break
    sleep 1
  done ) > "$out/rss.csv" &
rss_pid=$!
set +e
# After each round: a full collection, then the heap still in use (the live set: it must not climb from round to round).
cat > "$out/live-heap.sh" <<EOF
"$JAVA_HOME/bin/jcmd" $java_pid GC.run > /dev/null
"$JAVA_HOME/bin/jcmd" $java_pid GC.heap_info | awk '/total/ && /used/ { for (i = 1; i < NF; i++) if (\$i == "used") { v = \$(i + 1); sub(/K.*/, "", v); u += v } }
  END { printf "live heap after a full GC %.1f MiB", u / 1024 }'
EOF
python3 "$root/bench/serve-load.py" --port "$port" --json "$out/load.json" --after-round "bash $out/live-heap.sh" "$@"
load_rc=$?
set -e
sleep 3   # one more jstat and RSS sample after the load
alive=yes; kill -0 "$java_pid" 2>/dev/null || alive=no
echo
echo "server still running after the load: $alive"
cat "$out/flags.txt"
# jstat -gc columns: Timestamp S0C S1C S0U S1U EC EU OC OU MC MU CCSC CCSU YGC YGCT FGC FGCT ... (KiB)
awk 'NR > 1 && $1 ~ /^[0-9.]+$/ {
       used = ($4 + $5 + $7 + $9) / 1024; committed = ($2 + $3 + $6 + $8) / 1024; old = $9 / 1024
       if (used > mu) mu = used; if (committed > mc) mc = committed; if (old > mo) mo = old; last = $0; lu = used; lc = committed; lo = old; ygc = $14; fgc = $16; n++ }
     END { printf "heap (jstat, %d samples): used max %.1f MiB, committed max %.1f MiB, old gen used max %.1f MiB; at the end used %.1f, committed %.1f, old %.1f MiB; young GCs %s, full GCs %s\n", n, mu, mc, mo, lu, lc, lo, ygc, fgc }' "$out/jstat.txt"
awk -F, 'NR > 1 { if ($2 > m) m = $2; last = $2; h = $3 } END { printf "RSS: max %.1f MiB, at the end %.1f MiB, peak (VmHWM) %.1f MiB\n", m / 1024, last / 1024, h / 1024 }' "$out/rss.csv"
grep -E 'Pause Full' "$out/gc.log" | tail -3 || true
echo "5xx lines in the request log: $(grep -c ' 5[0-9][0-9] [0-9]* ms$' "$out/serve.log" || true)"
exit "$load_rc"
