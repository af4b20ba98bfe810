#!/usr/bin/env python3
"""Load for a running `loupe serve`, like the reliability probe's: rounds of mixed API requests from several clients
at once, then a round of malformed ones. Python 3 standard library only.

    python3 bench/serve-load.py --port 7860 --rounds 3 --requests 2000 --clients 12 --malformed 600 --json out.json

Prints, per round, the status counts and latency percentiles (ms) per kind of request, and exits 1 when any answer
was a 5xx or a request failed without an HTTP answer (the malformed round expects 4xx only). A 429 (the live queue
is full) is the server's back-pressure, counted but not a failure.
"""
import argparse
import http.client
import json
import random
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

PROMPTS = [
    "France. Geography: ", "Norway. Economy: The capital is Oslo and the population is 5 million.",
    "Chile. People and Society: The", "Japan. Government: The legislature", "Kenya. Geography: Mount Kenya",
    "Brazil. Economy: exports of coffee and iron ore", "Iceland. Energy: geothermal", "Peru. People and Society: Quechua",
]


def kinds(d_sae):
    """Each kind: (name, weight, a function rng -> (method, path, body or None))."""
    def card(r): return "GET", f"/api/features/{r.randrange(d_sae)}", None
    def examples(r): return "GET", f"/api/features/{r.randrange(d_sae)}/examples?context=16", None
    def histogram(r): return "GET", f"/api/features/{r.randrange(d_sae)}/histogram", None
    def listing(r):
        sort = r.choice(["max_activation", "fire_count", "density", "id"])
        return "GET", f"/api/features?sort={sort}&limit=50&offset={r.randrange(0, max(1, d_sae - 50))}&max_density=0.05", None
    def search(r): return "POST", "/api/search", {"text": r.choice(PROMPTS), "k": 10, "max_density": 0.1}
    def inspect(r): return "POST", "/api/inspect", {"text": r.choice(PROMPTS)}
    def trace(r): return "POST", f"/api/features/{r.randrange(d_sae)}/activations", {"text": r.choice(PROMPTS)}
    def chat(r):
        return "POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": r.choice(PROMPTS)}],
                                                "max_tokens": r.randint(2, 12), "temperature": r.choice([0, 0.7]), "seed": r.randrange(1000)}
    def completion(r):
        return "POST", "/v1/completions", {"prompt": r.choice(PROMPTS), "max_tokens": r.randint(2, 12), "temperature": 0.7, "seed": r.randrange(1000)}
    def steer(r):
        return "POST", "/api/steer", {"prompt": r.choice(PROMPTS), "max_tokens": r.randint(2, 8), "seed": r.randrange(1000),
                                      "steer": [{"feature": r.randrange(d_sae), "mode": r.choice(["add", "ablate"]), "strength": 8}]}
    def tokenize(r): return "POST", "/tokenize", {"content": r.choice(PROMPTS)}
    return [("card", 30, card), ("examples", 6, examples), ("histogram", 4, histogram), ("list", 8, listing),
            ("search", 8, search), ("inspect", 10, inspect), ("trace", 6, trace), ("chat", 10, chat),
            ("completions", 8, completion), ("steer", 6, steer), ("tokenize", 4, tokenize)]


def malformed():
    """Requests no client should send; each (name, raw bytes). All must get a 4xx."""
    def req(method, path, body=b"", ctype="application/json", host="127.0.0.1", extra=""):
        head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
        if ctype is not None: head += f"Content-Type: {ctype}\r\n"
        if method == "POST" and "Transfer-Encoding" not in extra: head += f"Content-Length: {len(body)}\r\n"
        return (head + extra + "\r\n").encode("latin-1") + body
    chunked = "Transfer-Encoding: chunked\r\n"
    return [
        ("bad json", req("POST", "/api/inspect", b'{"text": "x"')),
        ("trailing json", req("POST", "/api/inspect", b'{"text": "x"} trailing')),
        ("two objects", req("POST", "/v1/chat/completions", b'{"messages": []}{"messages": []}')),
        ("single quotes", req("POST", "/api/search", b"{'text': 1}")),
        ("text/plain", req("POST", "/api/inspect", b'{"text": "x"}', ctype="text/plain")),
        ("no content type", req("POST", "/v1/completions", b'{"prompt": "x"}', ctype=None)),
        ("form post", req("POST", "/v1/chat/completions", b"a=1", ctype="application/x-www-form-urlencoded")),
        ("foreign host", req("GET", "/api/info", host="attacker.example")),
        ("huge max_tokens", req("POST", "/v1/chat/completions", b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1e30}')),
        ("tools", req("POST", "/v1/chat/completions", b'{"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function"}]}')),
        ("long stop", req("POST", "/v1/completions", json.dumps({"prompt": "x", "stop": "y" * 100}).encode())),
        ("arabic digit id", req("GET", "/api/features/%D9%A3")),
        ("negative id", req("GET", "/api/features/-1")),
        ("id past the end", req("GET", "/api/features/99999999")),
        ("bad limit", req("GET", "/api/features?limit=abc")),
        ("bad sort", req("GET", "/api/features?sort=nope")),
        ("bad steer", req("POST", "/api/steer", b'{"prompt": "x", "steer": [{"feature": "a"}]}')),
        ("empty messages", req("POST", "/v1/chat/completions", b'{"messages": []}')),
        ("bad chunk size", req("POST", "/api/inspect", b"zz\r\n{}\r\n0\r\n\r\n", extra=chunked)),
        ("short chunk", req("POST", "/api/inspect", b'5\r\n{"tex\r\n40\r\nt": "x"}', extra=chunked)),
        ("short body", req("POST", "/api/inspect", b'{"text"').replace(b"Content-Length: 7", b"Content-Length: 70")),
        ("path traversal", req("GET", "/%2e%2e/%2e%2e/etc/passwd")),
        ("bad method", b"BREW /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
        ("garbage line", b"\x16\x03\x01\x02\x00 hello\r\n\r\n"),
        ("big body", req("POST", "/api/inspect", b'{"text": "' + b"a" * (2 << 20) + b'"}')),
    ]


def send_raw(port, data, timeout):
    """One raw request, the sending side closed after it; the answer's status, or None."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass   # the server may close early (a body over its limit)
        buf = b""
        try:
            while len(buf) < 12:
                chunk = s.recv(4096)
                if not chunk: break
                buf += chunk
        except ConnectionResetError:
            pass
    return int(buf[9:12]) if len(buf) >= 12 and buf.startswith(b"HTTP/") else None


class Client:
    """One keep-alive connection, reopened when the server closes it."""
    def __init__(self, port, timeout):
        self.port, self.timeout, self.conn = port, timeout, None

    def request(self, method, path, body):
        data = None if body is None else json.dumps(body).encode()
        headers = {"Host": f"127.0.0.1:{self.port}"}
        if data is not None: headers["Content-Type"] = "application/json"
        for attempt in (0, 1):
            if self.conn is None: self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                r.read()
                if r.getheader("Connection", "").lower() == "close": self.close()
                return r.status
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()   # a kept-alive connection the server had closed: once more on a new one
                if attempt: raise
        return None

    def close(self):
        if self.conn is not None: self.conn.close()
        self.conn = None


def pct(values, p):
    if not values: return None
    v = sorted(values)
    return round(v[min(len(v) - 1, int(p / 100 * len(v)))], 1)


def summary(results):
    """results: list of (kind, status or exception text, ms)."""
    by_kind = {}
    for kind, status, ms in results:
        k = by_kind.setdefault(kind, {"statuses": {}, "ms": []})
        k["statuses"][str(status)] = k["statuses"].get(str(status), 0) + 1
        k["ms"].append(ms)
    out = {}
    for kind, k in sorted(by_kind.items()):
        out[kind] = {"n": len(k["ms"]), "statuses": k["statuses"], "p50": pct(k["ms"], 50), "p95": pct(k["ms"], 95),
                     "p99": pct(k["ms"], 99), "max": round(max(k["ms"]), 1)}
    all_ms = [ms for _, _, ms in results]
    statuses = {}
    for _, s, _ in results: statuses[str(s)] = statuses.get(str(s), 0) + 1
    out["all"] = {"n": len(results), "statuses": statuses, "p50": pct(all_ms, 50), "p95": pct(all_ms, 95),
                  "p99": pct(all_ms, 99), "max": round(max(all_ms), 1) if all_ms else None}
    return out


def load_round(port, n, clients, seed, d_sae, timeout):
    table = kinds(d_sae)
    weights = [w for _, w, _ in table]
    rng = random.Random(seed)
    plan = [rng.choices(table, weights)[0] for _ in range(n)]
    seeds = [rng.randrange(1 << 30) for _ in range(n)]
    local = threading.local()
    results = []
    lock = threading.Lock()

    def one(i):
        if not hasattr(local, "client"): local.client = Client(port, timeout)
        name, _, make = plan[i]
        method, path, body = make(random.Random(seeds[i]))
        t = time.perf_counter()
        try:
            status = local.client.request(method, path, body)
        except Exception as e:   # no HTTP answer: a failure
            local.client.close()
            status = type(e).__name__
        ms = (time.perf_counter() - t) * 1000
        with lock: results.append((name, status, ms))

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool: list(pool.map(one, range(n)))
    return results, time.perf_counter() - t0


def malformed_round(port, n, clients, timeout):
    cases = malformed()
    results = []
    lock = threading.Lock()

    def one(i):
        name, data = cases[i % len(cases)]
        t = time.perf_counter()
        try:
            status = send_raw(port, data, timeout)
        except Exception as e:
            status = type(e).__name__
        ms = (time.perf_counter() - t) * 1000
        with lock: results.append((name, status, ms))

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool: list(pool.map(one, range(n)))
    return results, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=7860)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=2000, help="requests per round")
    ap.add_argument("--clients", type=int, default=12, help="requests in flight at once")
    ap.add_argument("--malformed", type=int, default=600, help="malformed requests after the rounds (0: none)")
    ap.add_argument("--timeout", type=float, default=150, help="seconds a request may take before it counts as failed")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--json", help="write every round's summary here")
    ap.add_argument("--after-round", help="a shell command run after each round (e.g. one that prints the live heap)")
    a = ap.parse_args()

    c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
    c.request("GET", "/api/info")
    info = json.loads(c.getresponse().read())
    c.close()
    d_sae = info["run"]["saes"][0]["d_sae"]

    report, bad = [], 0
    if a.after_round:
        before = subprocess.run(a.after_round, shell=True, capture_output=True, text=True).stdout.strip()
        report.append({"round": 0, "after": before})
        print(f"before the load: {before}", flush=True)
    for r in range(a.rounds):
        results, secs = load_round(a.port, a.requests, a.clients, a.seed + r, d_sae, a.timeout)
        s = summary(results)
        report.append({"round": r + 1, "seconds": round(secs, 1), "summary": s})
        bad += sum(v for k, v in s["all"]["statuses"].items() if not (k.isdigit() and int(k) < 500))
        print(f"round {r + 1}: {len(results)} requests in {secs:.1f} s, statuses {s['all']['statuses']}, "
              f"p50 {s['all']['p50']} ms, p95 {s['all']['p95']} ms, p99 {s['all']['p99']} ms, max {s['all']['max']} ms", flush=True)
        for kind, k in s.items():
            if kind != "all": print(f"  {kind:12s} n={k['n']:5d} {k['statuses']} p50 {k['p50']} p95 {k['p95']} p99 {k['p99']} max {k['max']}")
        if a.after_round:
            after = subprocess.run(a.after_round, shell=True, capture_output=True, text=True).stdout.strip()
            report[-1]["after"] = after
            print(f"  after round {r + 1}: {after}", flush=True)
    if a.malformed:
        results, secs = malformed_round(a.port, a.malformed, a.clients, 30)
        s = summary(results)
        report.append({"round": "malformed", "seconds": round(secs, 1), "summary": s})
        bad += sum(v for k, v in s["all"]["statuses"].items() if not (k.isdigit() and 400 <= int(k) < 500))
        print(f"malformed: {len(results)} requests in {secs:.1f} s, statuses {s['all']['statuses']}, p95 {s['all']['p95']} ms", flush=True)
        for kind, k in s.items():
            if kind != "all" and any(not (st.isdigit() and 400 <= int(st) < 500) for st in k["statuses"]):
                print(f"  NOT 4xx: {kind}: {k['statuses']}")
    if a.json:
        with open(a.json, "w") as f: json.dump(report, f, indent=1)
    print("failed (5xx, no answer, or a malformed request not answered 4xx):", bad)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
