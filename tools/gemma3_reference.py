#!/usr/bin/env python3
"""Writes the llama.cpp reference vectors for Gemma 3 270M (Q4_K_M) that
crates/inference/tests/it/gemma3.rs checks our tokenizer and decoder against.

Run with the llama-cpp-python venv that tools/llamacpp-bench.sh builds:
    ~/.cache/verbench/llamacpp-venv/bin/python tools/gemma3_reference.py
Writes crates/inference/tests/vectors/gemma3/{tokens.json,logits.json}.
Deterministic: llama.cpp on the CPU, one sequence evaluated in one call, logits_all=True
(llama-cpp-python fills Llama.scores only then).
"""
import hashlib
import json
import os
import sys
from pathlib import Path

import llama_cpp
from llama_cpp import Llama

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "crates/inference/tests/vectors/gemma3"
CACHE = Path(os.environ.get("VERBENCH_CACHE", Path.home() / ".cache/verbench"))
MODEL = CACHE / "models/gemma-3-270m.Q4_K_M.gguf"

# Strings whose token ids must match exactly (llama.cpp: add_bos=True, special=True, i.e. the
# text is the whole prompt and control tokens written in it are recognised).
TOKEN_CASES = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    " leading space and trailing space ",
    "multiple   spaces,\ttabs\t\tand\n\nnewlines\n\n\n\nhere",
    "          ten spaces, then\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n thirty-five newlines",
    "Digits: 0 12 345 6789 3.14159 1,000,000 2024-06-01",
    "Unicode: naïve café, Ünïcödé, 日本語のテキスト, 中文, 한국어, Ελληνικά, русский, עברית, العربية",
    "Emoji: 🙂🚀👩‍👩‍👧 and rare chars: \u2603 \U0001f9ea \u00a0nbsp \u200bzwsp",
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "fn main() { let v: Vec<u32> = (0..10).map(|x| x * x).collect(); println!(\"{v:?}\"); }",
    "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n",
    "HTML <b>bold</b> and <table><tr><td>cell</td></tr></table>",
    "",
]

LONG_TEXT = """The history of computing is a story of abstraction layered upon abstraction. Early machines were programmed by rewiring plugboards; later, stored-program computers held their instructions in the same memory as their data, an idea usually credited to the EDVAC report of 1945. Assembly languages gave names to operation codes, and compilers translated higher-level languages such as FORTRAN (1957) and COBOL (1959) into machine code. Operating systems arrived to share one expensive machine among many users, first in batches and then interactively through time-sharing.

Here is a small Python function that computes prime numbers with a sieve:

def primes(limit):
    sieve = [True] * (limit + 1)
    sieve[0:2] = [False, False]
    for i in range(2, int(limit ** 0.5) + 1):
        if sieve[i]:
            for j in range(i * i, limit + 1, i):
                sieve[j] = False
    return [i for i, is_prime in enumerate(sieve) if is_prime]

print(primes(50))  # [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47]

Networks changed everything again. ARPANET connected four university sites in 1969; TCP/IP became its standard in 1983, and the World Wide Web, proposed by Tim Berners-Lee at CERN in 1989, turned the internet into a medium for everyone. Search engines indexed billions of pages, and smartphones put that index in every pocket.

A table of a few milestones:
| Year | Event |
|------|-------|
| 1936 | Turing describes the universal machine |
| 1947 | The transistor is invented at Bell Labs |
| 1971 | Intel ships the 4004 microprocessor |
| 1991 | Linux 0.01 is released |
| 2007 | The iPhone is announced |

Machine learning, once a niche of statistics, now drives translation, speech recognition and image search. Neural networks with billions of parameters are trained on large text corpora and can write essays, answer questions and produce code. Yet they remain, underneath, the same kind of machine: arithmetic on numbers stored in memory, executed one instruction at a time by circuits that switch billions of times per second. Whether such systems understand anything is debated by philosophers; that they are useful is debated by almost no one. In Japanese one might say 計算機の歴史は抽象化の歴史である, and in French l'histoire de l'informatique est une histoire d'abstractions. The next chapter of this story will be written by people who are students today, learning to program on machines far more powerful than the ones that sent astronauts to the Moon in 1969, and the chapter after that by"""

# Positions whose logits are kept: start, around the 512-token sliding window, the end.
TOP_K = 20
FIXED_IDS = [2, 1, 107, 108, 236761, 506, 4103, 236764, 529, 262143]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def main():
    if not MODEL.exists():
        sys.exit(f"{MODEL} is missing: run tools/fetch-models.sh gemma3 first")
    llm = Llama(
        model_path=str(MODEL),
        n_ctx=1024,
        n_batch=1024,
        n_ubatch=1024,
        n_threads=2,
        logits_all=True,
        verbose=False,
        seed=0,
    )
    meta = {
        "model_file": MODEL.name,
        "model_sha256": sha256(MODEL),
        "llama_cpp_python": llama_cpp.__version__,
    }
    tokens = [
        {"text": t, "ids": llm.tokenize(t.encode("utf-8"), add_bos=True, special=True)}
        for t in TOKEN_CASES
    ]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "tokens.json").write_text(
        json.dumps({**meta, "add_bos": True, "special": True, "cases": tokens}, ensure_ascii=False, indent=1)
        + "\n"
    )
    ids = llm.tokenize(LONG_TEXT.encode("utf-8"), add_bos=True, special=True)
    n = len(ids)
    assert n > 600, f"the long text is only {n} tokens; it must exceed the 512-token window"
    llm.reset()
    llm.eval(ids)
    positions = sorted({0, 1, 100, 510, 511, 512, 513, 600, n - 2, n - 1})
    rows = []
    for p in positions:
        row = [float(x) for x in llm.scores[p]]
        top = sorted(range(len(row)), key=lambda i: -row[i])[:TOP_K]
        rows.append(
            {
                "position": p,
                "top_ids": top,
                "top_logits": [row[i] for i in top],
                "fixed_logits": [row[i] for i in FIXED_IDS],
            }
        )
    (OUT / "logits.json").write_text(
        json.dumps(
            {**meta, "text": LONG_TEXT, "ids": ids, "fixed_ids": FIXED_IDS, "rows": rows},
            ensure_ascii=False,
            indent=1,
        )
        + "\n"
    )
    print(f"wrote {OUT}: {len(tokens)} token cases, {n}-token sequence, positions {positions}")


if __name__ == "__main__":
    main()
