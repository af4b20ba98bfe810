#!/usr/bin/env bash
# Throughput of loupe-spark against loupe index on this machine (BENCHMARKS.md, "Corpus runs on Spark"):
# loupe index (2 threads), loupe-spark local[1] (1 thread), local[2] (2 threads, one task at a time) and a standalone
# Master with two 1-core Workers on 127.0.0.2 and 127.0.0.3 (1 thread per task). Every run must give the same files.
# usage: bench/spark-index.sh MODEL SAE CORPUS WORKDIR [TOKENS] [CONTEXT]   (RUNS="local2 standalone" picks some)
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
model="$1" sae="$2" corpus="$3" work="$4" tokens="${5:-1024}" context="${6:-128}"
mkdir -p "$work"
runs="${RUNS:-index local1 local2 standalone}"
want() { [[ " $runs " == *" $1 "* ]]; }
for r in $runs; do rm -rf "${work:?}/$r"; done
common=(--model "$model" --sae "$sae" --corpus "$corpus" --context "$context" --max-tokens "$tokens" --no-logit-tables --quiet)
timed() { local name="$1"; shift; /usr/bin/time -f "$name wall %e s, peak RSS %M KB" "$@" 2>&1 | grep -v '^WARNING: Using incubator' | tee -a "$work/results.txt"; }
echo "== $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$work/results.txt"
want index && timed index "$root/bin/loupe" index "${common[@]}" --threads 2 --out "$work/index"
want local1 && timed local1 "$root/bin/loupe-spark" --master 'local[1]' --partitions 2 "${common[@]}" --out "$work/local1"
want local2 && timed local2 "$root/bin/loupe-spark" --master 'local[2]' --partitions 2 "${common[@]}" --out "$work/local2"

want standalone || exit 0
# A standalone cluster from the jars: Master on 127.0.0.1, one Worker (1 core) on each of 127.0.0.2 and 127.0.0.3.
source "$root/bin/jdk.sh"
cp="$(cat "$root/spark/target/classpath.txt")"
export SPARK_SCALA_VERSION=2.13 SPARK_HOME="$root/spark/target/spark-home"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
SPARK_LOCAL_IP=127.0.0.1 java -Xmx256m -cp "$cp" org.apache.spark.deploy.master.Master --host 127.0.0.1 --port 7177 --webui-port 8180 \
  > "$work/master.log" 2>&1 & pids+=($!)
await_port() { for _ in $(seq 1 300); do (echo > "/dev/tcp/$1/$2") 2>/dev/null && return 0; sleep 0.5; done; echo "nothing listens on $1:$2" >&2; exit 1; }
await_port 127.0.0.1 7177
for ip in 127.0.0.2 127.0.0.3; do
  SPARK_LOCAL_IP=$ip java -Xmx256m -cp "$cp" org.apache.spark.deploy.worker.Worker --host $ip --cores 1 --memory 4g \
    --webui-port 0 --work-dir "$work/worker-$ip" spark://127.0.0.1:7177 > "$work/worker-$ip.log" 2>&1 & pids+=($!)
done
# Both Workers registered (the Master logs each one) before the driver asks for executors.
for _ in $(seq 1 300); do [[ $(grep -c "Registering worker" "$work/master.log") -ge 2 ]] && break; sleep 0.5; done
LOUPE_JAVA_OPTS="-Dspark.executor.memory=3g" SPARK_LOCAL_IP=127.0.0.1 \
  timed standalone "$root/bin/loupe-spark" --master spark://127.0.0.1:7177 --partitions 2 "${common[@]}" --out "$work/standalone"
for run in $runs; do
  [[ $run == index ]] && continue
  for f in tokens.arrow documents.arrow features.arrow top_examples.arrow; do
    cmp -s "$work/index/$f" "$work/$run/$f" || { echo "$run/$f differs from index/$f" | tee -a "$work/results.txt"; exit 1; }
  done
done
echo "all runs: the same tokens, documents, features and top examples as loupe index" | tee -a "$work/results.txt"
