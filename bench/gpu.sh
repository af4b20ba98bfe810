#!/usr/bin/env bash
# The TornadoVM backend on a GPU machine, in one go: runs the tornado module's tests, then `loupe bench` on the
# CPU and TornadoVM backends for prompts of 128 and 1024 tokens plus generation, and writes one JSON file with
# the machine (GPU, driver, CPU, TornadoVM devices), the test results and every bench line (tornado lines carry
# graph_executions_per_token, device_ms_per_token with per-operation times, and device memory; with nvidia-smi,
# the GPU's peak memory use during each run).
#
#   bench/gpu.sh [--model PATH | --shape gemma-2-2b] [--dtype bf16] [--prompts "128 1024"] [--gen 32] [--reps 2]
#                [--threads N] [--arena-mb 2048] [--device-memory 12GB] [--backends "cpu tornado"] [--skip-tests]
#                [--out FILE] [--work DIR]
#
# Needs: JDK 25 (bin/jdk.sh finds it), TornadoVM 5.2.0-jdk25 at $TORNADOVM_HOME (or /opt/tornadovm; README,
# "TornadoVM backend"), Maven, python3; nvidia-smi where there is an NVIDIA GPU (without it the script says so and
# measures whatever OpenCL device TornadoVM picks, e.g. PoCL: `bench/gpu.sh --shape tiny --prompts "16 64"` is the
# end-to-end try on a machine without a GPU). Without --model it synthesizes the shape once into --work.
# The tornado backend keeps BF16/F16 weights as they are on the device (F32 ones in F32): the 2B shape in BF16 needs
# ~5.2 GB for its weights plus the arena; --device-memory is TornadoVM's cap (-Dtornado.device.memory, default 4GB
# there, too small for the 2B). The host holds a copy of every weight pool while the plan lives.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
root="$(cd "$here/.." && pwd)"
model="" shape="gemma-2-2b" dtype="bf16" prompts="128 1024" gen=32 reps=2 threads="$(nproc)" arena_mb=2048
device_memory="12GB"
backends="cpu tornado" skip_tests=0 out="" work="${TMPDIR:-/tmp}/loupe-gpu-bench"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --shape) shape="$2"; shift 2 ;;
    --dtype) dtype="$2"; shift 2 ;;
    --prompts) prompts="$2"; shift 2 ;;
    --gen) gen="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --arena-mb) arena_mb="$2"; shift 2 ;;
    --device-memory) device_memory="$2"; shift 2 ;;
    --backends) backends="$2"; shift 2 ;;
    --skip-tests) skip_tests=1; shift ;;
    --out) out="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "bench/gpu.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
cd "$root"
source bin/jdk.sh
export TORNADOVM_HOME="${TORNADOVM_HOME:-/opt/tornadovm}"
if [[ ! -f "$TORNADOVM_HOME/tornado-argfile" ]]; then
  echo "bench/gpu.sh: TornadoVM is not installed at $TORNADOVM_HOME (no tornado-argfile); see the README's 'TornadoVM backend'" >&2
  exit 1
fi
mkdir -p "$work"
out="${out:-$work/gpu-bench-$(date -u +%Y%m%dT%H%M%SZ).json}"
log="$work/logs"; mkdir -p "$log"
has_smi=0; command -v nvidia-smi >/dev/null 2>&1 && has_smi=1
[[ $has_smi == 1 ]] || echo "bench/gpu.sh: no nvidia-smi: measuring the OpenCL device TornadoVM picks (not an NVIDIA GPU); no GPU memory sampling" >&2

echo "== build (tornado profile)" >&2
mvn -B -ntp -q -Ptornado -DskipTests package > "$log/build.log" 2>&1 || { echo "bench/gpu.sh: build failed, see $log/build.log" >&2; exit 1; }

tests_rc=-1
if [[ $skip_tests == 0 ]]; then
  echo "== tornado tests" >&2
  set +e
  mvn -B -ntp -Ptornado -pl tornado -am test -Dtest='dev/loupe/tornado/**/*Test' -Dsurefire.failIfNoSpecifiedTests=false > "$log/tests.log" 2>&1
  tests_rc=$?
  set -e
  echo "   exit $tests_rc ($log/tests.log)" >&2
fi

if [[ -z "$model" ]]; then
  model="$work/$shape-$dtype"
  if [[ ! -f "$model/config.json" ]]; then
    echo "== synthesize $shape ($dtype) into $model" >&2
    bin/loupe synth --shape "$shape" --dtype "$dtype" --out "$model" > "$log/synth.log" 2>&1
  fi
fi

# Samples the GPU's used memory (MiB) every 200 ms into a file while a command runs; prints the peak.
gpu_peak() {
  local file="$1"; shift
  if [[ $has_smi == 0 ]]; then "$@"; echo "-1" > "$file.peak"; return; fi
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > "$file" &
  local smi=$!
  local rc=0
  "$@" || rc=$?
  kill "$smi" 2>/dev/null || true
  wait "$smi" 2>/dev/null || true
  sort -n "$file" | tail -1 > "$file.peak"
  return $rc
}

runs="$work/runs.jsonl"; : > "$runs"
for backend in $backends; do
  for p in $prompts; do
    echo "== bench $backend, prompt $p, gen $gen" >&2
    tag="$backend-p$p"
    opts=""
    [[ $backend == tornado ]] && opts="-Dloupe.tornado.profile=true -Dloupe.tornado.arena.mb=$arena_mb -Dtornado.device.memory=$device_memory"
    set +e
    LOUPE_JAVA_OPTS="$opts" gpu_peak "$log/$tag.smi" bin/loupe bench --model "$model" --backend "$backend" --threads "$threads" \
        --prompt-tokens "$p" --gen-tokens "$gen" --repetitions "$reps" --json > "$log/$tag.json" 2> "$log/$tag.err"
    rc=$?
    set -e
    python3 - "$log/$tag.json" "$log/$tag.smi.peak" "$rc" "$backend" "$p" "$log/$tag.err" >> "$runs" <<'PY'
import json, sys
path, peak, rc, backend, prompt, err = sys.argv[1:]
try:
    line = [l for l in open(path) if l.strip().startswith("{")][-1]
    r = json.loads(line)
except Exception:
    tail = open(err).read().strip().splitlines()[-3:]
    r = {"backend": backend, "prompt_tokens": int(prompt), "error": " | ".join(tail)}
r["exit"] = int(rc)
p = int(open(peak).read().strip() or -1)
if p >= 0: r["gpu_peak_memory_mb"] = p
print(json.dumps(r))
PY
  done
done

devices="$("$TORNADOVM_HOME/bin/tornado" --devices 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' | grep -E 'OPENCL|PTX|SPIRV|Global Memory' | sed 's/^[[:space:]]*//' || true)"
gpu="none"; driver=""
if [[ $has_smi == 1 ]]; then
  gpu="$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | head -1)"
  driver="$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)"
fi
python3 - "$runs" "$out" "$tests_rc" "$log/tests.log" "$gpu" "$driver" "$devices" "$model" <<'PY'
import json, re, subprocess, sys, datetime
runs, out, tests_rc, tests_log, gpu, driver, devices, model = sys.argv[1:]
tests = {"exit": int(tests_rc)}
if int(tests_rc) >= 0:
    m = re.findall(r"Tests run: (\d+), Failures: (\d+), Errors: (\d+), Skipped: (\d+)\s*$", open(tests_log).read(), re.M)
    if m:
        t = m[-1]
        tests.update(run=int(t[0]), failures=int(t[1]), errors=int(t[2]), skipped=int(t[3]))
cpu = subprocess.run(["bash", "-c", "lscpu | sed -n 's/^Model name: *//p'"], capture_output=True, text=True).stdout.strip()
doc = {
    "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "gpu": gpu, "nvidia_driver": driver, "cpu": cpu, "tornado_devices": devices.splitlines(),
    "model": model, "tornado_tests": tests,
    "runs": [json.loads(l) for l in open(runs) if l.strip()],
}
tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump(doc, f, indent=1)
import os
os.replace(tmp, out)
print(out)
PY
