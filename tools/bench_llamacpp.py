#!/usr/bin/env python3
"""llama.cpp (through llama-cpp-python) on the workload of `inference-bench`.

`inference-bench --llamacpp-python PY` runs this file with PY and reads one JSON object back, so
both engines are measured in the same run on the same GGUF file and the same token ids. Input, on
stdin, one JSON object:

    {"model": path, "prompt": [ids], "full": [ids], "new_tokens": n, "runs": r,
     "threads": t, "reference_output": [ids]}

`full` is prompt + output of the candle record that the validator measured. Output, on stdout,
one JSON object with the medians in seconds, the number of leading greedy tokens that equal
`reference_output`, and the peak RSS of this process (Python included).

Errors go to stderr with exit status 2; the caller shows them.
"""

import json
import statistics
import sys
import time


def rss_mib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def fail(msg):
    print(f"bench_llamacpp: {msg}", file=sys.stderr)
    sys.exit(2)


def main():
    try:
        job = json.load(sys.stdin)
        model, prompt, full = job["model"], job["prompt"], job["full"]
        n, runs, threads = int(job["new_tokens"]), int(job["runs"]), int(job["threads"])
        reference = job.get("reference_output", [])
    except (ValueError, KeyError, TypeError) as e:
        fail(f"bad job on stdin: {e!r}")
    if not prompt or not full or n < 1 or runs < 1:
        fail("empty prompt, empty sequence, or no tokens/runs asked for")
    try:
        import llama_cpp
        import numpy as np
    except ImportError as e:
        fail(f"{e}; install llama-cpp-python into this interpreter (tools/llamacpp-bench.sh)")

    before_load = rss_mib("VmRSS")
    # logits_all: the validator needs logits at every position (the token check), so the prefill
    # comparison asks llama.cpp for them too; decode reads the last row either way.
    llm = llama_cpp.Llama(
        model_path=model,
        n_ctx=max(len(full), len(prompt) + n) + 8,
        n_batch=max(len(full), 512),
        n_ubatch=max(len(full), 512),
        n_threads=threads,
        n_threads_batch=threads,
        logits_all=True,
        verbose=False,
    )

    def greedy():
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(prompt)
        t1 = time.perf_counter()
        out = []
        for _ in range(n):
            tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
            out.append(tok)
            llm.eval([tok])
        t2 = time.perf_counter()
        return t1 - t0, t2 - t1, out

    def prefill():
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(full)
        return time.perf_counter() - t0

    greedy()  # warm-up
    pre, dec, fulls = [], [], []
    out = []
    for _ in range(runs):
        p, d, out = greedy()
        pre.append(p)
        dec.append(d)
        fulls.append(prefill())
    agree = 0
    for a, b in zip(out, reference):
        if a != b:
            break
        agree += 1
    print(
        json.dumps(
            {
                "version": getattr(llama_cpp, "__version__", "unknown"),
                "prompt_prefill_s": statistics.median(pre),
                "decode_s": statistics.median(dec),
                "full_prefill_s": statistics.median(fulls),
                "greedy_agree_prefix": agree,
                # VmHWM, not ru_maxrss: the latter keeps the parent's peak across exec.
                "peak_mib": rss_mib("VmHWM"),
                "rss_before_load_mib": before_load,
            }
        )
    )


if __name__ == "__main__":
    main()
