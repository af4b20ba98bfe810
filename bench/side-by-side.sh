#!/usr/bin/env bash
# Times llama.cpp's llama-bench and `loupe bench` on the same GGUF in alternating rounds and prints the
# medians, ranges and per-round ratios of prompt tok/s, generation tok/s and peak RSS (Loupe / llama.cpp).
# Memory bandwidth on a shared VM drifts by tens of percent between runs, so compare medians of rounds run
# in one sitting, never single runs.
#
#   bench/side-by-side.sh --llama-bench /path/to/llama-bench --model /path/to/model.gguf \
#       [--loupe bin/loupe] [--rounds 7] [--threads 2] [--prompt 128] [--gen 32] [--log DIR] [--llama-commit C]
#
# --llama-commit names the llama.cpp commit in the table when llama-bench reports none (a build from an
# archive without .git reports "unknown").
#
# Each round runs llama-bench -p P -n G -t T -r 1 -o json (one warm-up and one timed run per test) and
# loupe bench --repetitions 1 --json (one warm-up and one timed pass), both under /usr/bin/time -v, whose
# "Maximum resident set size" (weights touched through mmap included) is the peak RSS of both.
# Needs bash, python3 and GNU time. Extra JVM flags for Loupe: LOUPE_JAVA_OPTS.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
llama="" model="" loupe="$here/../bin/loupe" rounds=7 threads=2 prompt=128 gen=32 log="" llama_commit=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --llama-bench) llama="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --loupe) loupe="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --prompt) prompt="$2"; shift 2 ;;
    --gen) gen="$2"; shift 2 ;;
    --log) log="$2"; shift 2 ;;
    --llama-commit) llama_commit="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "side-by-side: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ -x "$llama" ]] || { echo "side-by-side: --llama-bench: '$llama' is not an executable" >&2; exit 2; }
[[ -f "$model" ]] || { echo "side-by-side: --model: '$model' is not a file" >&2; exit 2; }
[[ -x "$loupe" ]] || { echo "side-by-side: --loupe: '$loupe' is not an executable" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "side-by-side: needs GNU time at /usr/bin/time" >&2; exit 2; }
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "side-by-side: --rounds must be a positive integer, got '$rounds'" >&2; exit 2; }
log="${log:-$(mktemp -d /tmp/side-by-side.XXXXXX)}"
mkdir -p "$log"
echo "logs in $log; load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# The loupe CLI builds itself on first use; do that before timing anything.
"$loupe" --version >/dev/null 2>&1 || true

# Stopping it (Ctrl-C; or kill to the script, which lets the running command finish) still prints the
# summary of the rounds completed so far.
done_rounds=0
trap 'stopped=1' INT TERM
stopped=0
for ((r = 1; r <= rounds && !stopped; r++)); do
  echo "round $r/$rounds" >&2
  /usr/bin/time -v -o "$log/llama-$r.time" \
    "$llama" -m "$model" -p "$prompt" -n "$gen" -t "$threads" -r 1 -o json >"$log/llama-$r.json" 2>"$log/llama-$r.err" \
    || { [[ $stopped == 1 ]] && break; echo "side-by-side: llama-bench failed, see $log/llama-$r.err" >&2; exit 1; }
  /usr/bin/time -v -o "$log/loupe-$r.time" \
    "$loupe" bench --model "$model" --threads "$threads" --prompt-tokens "$prompt" --gen-tokens "$gen" --repetitions 1 --json \
    >"$log/loupe-$r.json" 2>"$log/loupe-$r.err" \
    || { [[ $stopped == 1 ]] && break; echo "side-by-side: loupe bench failed, see $log/loupe-$r.err" >&2; exit 1; }
  done_rounds=$r
done
trap - INT TERM
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
[[ $done_rounds -gt 0 ]] || { echo "side-by-side: no round completed" >&2; exit 1; }

python3 - "$log" "$done_rounds" "$prompt" "$gen" "$threads" "$llama_commit" <<'PY'
import json, re, statistics, sys
log, rounds, prompt, gen, threads, given_commit = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]

def max_rss_gib(path):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(path).read())
    return int(m.group(1)) / 2**20

rows, commit = [], "?"
for r in range(1, rounds + 1):
    tests = json.load(open(f"{log}/llama-{r}.json"))
    pp = next(t for t in tests if t["n_prompt"] > 0 and t["n_gen"] == 0)
    tg = next(t for t in tests if t["n_gen"] > 0 and t["n_prompt"] == 0)
    commit = given_commit or pp.get("build_commit", commit)
    lo = json.load(open(f"{log}/loupe-{r}.json"))
    rows.append({
        "llama_pp": pp["avg_ts"], "llama_tg": tg["avg_ts"], "llama_rss": max_rss_gib(f"{log}/llama-{r}.time"),
        "loupe_pp": lo["prompt_tokens_per_s"], "loupe_tg": lo["gen_tokens_per_s"], "loupe_rss": max_rss_gib(f"{log}/loupe-{r}.time"),
    })
for row in rows:
    row["r_pp"] = row["loupe_pp"] / row["llama_pp"]
    row["r_tg"] = row["loupe_tg"] / row["llama_tg"]
    row["r_rss"] = row["loupe_rss"] / row["llama_rss"]

print(f"llama.cpp {commit}; {threads} threads, prompt {prompt}, generation {gen}, {rounds} alternating rounds")
print("round | llama pp | loupe pp | ratio | llama tg | loupe tg | ratio | llama RSS GiB | loupe RSS GiB | ratio")
for i, x in enumerate(rows, 1):
    print(f"{i:5d} | {x['llama_pp']:8.2f} | {x['loupe_pp']:8.2f} | {x['r_pp']:5.2f} | {x['llama_tg']:8.2f} | {x['loupe_tg']:8.2f} | "
          f"{x['r_tg']:5.2f} | {x['llama_rss']:13.2f} | {x['loupe_rss']:13.2f} | {x['r_rss']:5.2f}")

def cell(key, fmt):
    v = [x[key] for x in rows]
    return f"{fmt.format(statistics.median(v))} ({fmt.format(min(v))}–{fmt.format(max(v))})"

print()
print(f"| median (range) over {rounds} rounds | prompt {prompt} (tok/s) | generation (tok/s) | peak RSS (GiB) |")
print("|---|---|---|---|")
print(f"| llama.cpp {commit} | {cell('llama_pp', '{:.1f}')} | {cell('llama_tg', '{:.2f}')} | {cell('llama_rss', '{:.2f}')} |")
print(f"| Loupe | {cell('loupe_pp', '{:.1f}')} | {cell('loupe_tg', '{:.2f}')} | {cell('loupe_rss', '{:.2f}')} |")
print(f"| ratio Loupe / llama.cpp: median of per-round ratios (range) | {cell('r_pp', '{:.2f}')} | {cell('r_tg', '{:.2f}')} | {cell('r_rss', '{:.2f}')} |")
PY
