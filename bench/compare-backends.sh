#!/usr/bin/env bash
# Runs one prompt through the cpu and tornado backends with `loupe run --logits` and compares the logits:
# max |cpu - tornado| / max(1, max |cpu|) (the tornado tests' measure) and whether the argmax rows agree.
# Slow on big models (both backends, one JVM each), so it is not part of any test suite.
# Usage: bench/compare-backends.sh MODEL [TOKENS] [OUT_DIR]   (TOKENS: count of prompt tokens, default 64)
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
model="${1:?usage: bench/compare-backends.sh MODEL [TOKENS] [OUT_DIR]}"
n="${2:-64}"
out="${3:-$(mktemp -d)}"
mkdir -p "$out"
# a fixed pseudo-random prompt: <bos>, then ids spread over the vocabulary (at most its first 20000)
vocab=$(python3 -c "import json,sys; c=json.load(open(sys.argv[1])); print(c.get('vocab_size') or c.get('text_config',{}).get('vocab_size'))" "$model/config.json")
span=$(( vocab < 20000 ? vocab - 3 : 20000 ))
ids="2"
for ((i = 1; i < n; i++)); do ids+=",$(( (i * 7919 + 13) % span + 3 ))"; done
for backend in cpu tornado; do
  /usr/bin/time -f "$backend: %e s wall, peak RSS %M KB" "$root/bin/loupe" run --model "$model" --backend "$backend" \
    --token-ids "$ids" --logits "$out/$backend.npy" > "$out/$backend.log" 2>&1 || { cat "$out/$backend.log" >&2; exit 1; }
  tail -1 "$out/$backend.log"
done
python3 - "$out/cpu.npy" "$out/tornado.npy" <<'PY'
import sys, numpy as np
c, t = np.load(sys.argv[1]).astype(np.float64), np.load(sys.argv[2]).astype(np.float64)
rel = np.abs(c - t).max() / max(1.0, np.abs(c).max())
agree = (c.argmax(-1) == t.argmax(-1)).mean()
print(f"logits {c.shape}: max |cpu - tornado| / max(1, max |cpu|) = {rel:.3g}; argmax agreement {agree:.3f}")
sys.exit(0 if rel <= 1e-4 else 1)
PY
