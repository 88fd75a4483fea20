#!/usr/bin/env python3
"""Independent recomputation of a verbench result with llama.cpp (llama-cpp-python).

    crosscheck_llamacpp.py MODEL.gguf samples_<name>.jsonl [--limit N] > crosscheck.json

Reads the per-sample export of `verbench-submit export` (it carries each item's prompt token ids,
the reference answer and verbench's response) and recomputes every item with llama.cpp on the same
GGUF file and the same prompt token ids:
- multiple choice (samples with `choice_token_ids`): the letter whose token llama.cpp ranks first
  among the four after the prompt;
- generation: greedy decoding up to `max_gen_toks` tokens or end of sequence, then the GSM8K
  flexible extraction (the last match of -?[$0-9.,]{2,}|-?[0-9]+) and exact match with the
  reference after normalization (commas, $, trailing '.', leading zeros, trailing fractional
  zeros, signs), as crates/bundle/src/scorer.rs does.
Prints one JSON object: items, agreement of the choices / extracted answers, both scores, and the
first disagreements. Progress goes to stderr. Run it with the virtual environment that
tools/llamacpp-bench.sh builds (${VERBENCH_CACHE:-~/.cache/verbench}/llamacpp-venv/bin/python).
"""

import json
import re
import sys
import time

FLEX = re.compile(r"(-?[$0-9.,]{2,})|(-?[0-9]+)")


def flexible(text):
    found = [a or b for a, b in FLEX.findall(text)]
    return found[-1] if found else None


def normalize(n):
    if n is None:
        return None
    s = n.strip().replace(",", "").replace("$", "")
    while s.endswith("."):
        s = s[:-1]
    neg = s.startswith("-")
    s = s[1:] if neg else (s[1:] if s.startswith("+") else s)
    whole, _, frac = s.partition(".")
    if not (whole.isdigit() or whole == "") or not (frac.isdigit() or frac == "") or (whole == "" and frac == ""):
        return None
    whole = whole.lstrip("0") or "0"
    frac = frac.rstrip("0")
    out = whole + ("." + frac if frac else "")
    return "-" + out if neg and out != "0" else out


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    limit = None
    if "--limit" in args:
        i = args.index("--limit")
        limit = int(args[i + 1])
        del args[i : i + 2]
    model_path, samples_path = args
    from llama_cpp import Llama

    # llama-cpp-python 0.3.x fills `scores` only with logits_all=True; without it the array is never
    # written (it reads as zeros, which made every letter tie and "A" win: the cross-check of the
    # first stop was wrong for that reason). Multiple choice needs the prompt's last logits, so it
    # keeps them all; generation samples inside llama.cpp and needs none.
    multiple_choice = bool(json.loads(open(samples_path).readline())["verbench"].get("choice_token_ids"))
    llm = Llama(
        model_path=model_path, n_ctx=4096, n_threads=2, logits_all=multiple_choice, verbose=False
    )
    eos = llm.token_eos()
    samples = [json.loads(line) for line in open(samples_path)]
    if limit:
        samples = samples[:limit]
    agree = 0
    letter_diff = 0.0
    lead_diff = 0.0
    ours_hits = 0
    theirs_hits = 0
    disagreements = []
    t0 = time.time()
    for k, s in enumerate(samples):
        vb = s["verbench"]
        prompt = vb["prompt_token_ids"]
        target = s["target"]
        metric = s["metrics"][0]
        ours_hits += s[metric]
        llm.reset()
        if vb.get("choice_token_ids"):
            letters = vb["choice_token_ids"]
            llm.eval(prompt)
            logits = llm.scores[llm.n_tokens - 1]
            four = [float(logits[t]) for t in letters]
            if len(set(four)) == 1:
                sys.exit(f"item {s['doc_id']}: the four letter logits are all {four[0]}: no logits read")
            best = max(range(4), key=lambda i: (logits[letters[i]], -i))
            # Engine-to-engine noise on what the validator compares: each letter's logit, and the
            # claimed letter's lead over the best other letter.
            mine = [r[0][0] for r in s["resps"]]
            claimed = letters.index(vb["output_tokens"][0])
            lead = lambda xs: xs[claimed] - max(x for i, x in enumerate(xs) if i != claimed)
            letter_diff = max(letter_diff, max(abs(a - b) for a, b in zip(mine, four)))
            lead_diff = max(lead_diff, abs(lead(mine) - lead(four)))
            theirs = "ABCD"[best]
            ours = "ABCD"[letters.index(vb["output_tokens"][0])]
            same = theirs == ours
            theirs_hit = theirs == target
        else:
            max_new = s["arguments"][0][1]["max_gen_toks"]
            out = []
            for tok in llm.generate(prompt, temp=0.0, top_k=1, repeat_penalty=1.0):
                out.append(tok)
                if tok == eos or len(out) >= max_new:
                    break
            text = llm.detokenize(out, special=True).decode("utf-8", errors="replace")
            theirs = flexible(text)
            ours = s["filtered_resps"][0]
            ours = None if ours == "[invalid]" else ours
            same = normalize(theirs) == normalize(ours)
            theirs_hit = normalize(theirs) is not None and normalize(theirs) == normalize(target)
        agree += same
        theirs_hits += theirs_hit
        if not same and len(disagreements) < 10:
            disagreements.append({"doc_id": s["doc_id"], "verbench": ours, "llama.cpp": theirs})
        if (k + 1) % 20 == 0:
            print(
                f"{k + 1}/{len(samples)} items, {time.time() - t0:.0f}s, agreement so far {agree}/{k + 1}, "
                f"verbench hits {ours_hits:g}, llama.cpp hits {theirs_hits}, "
                f"max letter logit diff {letter_diff:.3f}, max lead diff {lead_diff:.3f}",
                file=sys.stderr,
            )
    n = len(samples)
    print(
        json.dumps(
            {
                "items": n,
                "agreement": agree / n if n else None,
                "verbench_score": ours_hits / n if n else None,
                "llamacpp_score": theirs_hits / n if n else None,
                "seconds": round(time.time() - t0, 1),
                "max_letter_logit_diff": round(letter_diff, 4) if letter_diff else None,
                "max_claimed_lead_diff": round(lead_diff, 4) if lead_diff else None,
                "first_disagreements": disagreements,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
