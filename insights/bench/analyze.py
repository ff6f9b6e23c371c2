"""Throughput of the analysis pipeline, as a ratio to jieba tokenisation alone, and peak RSS."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from typing import Any

from insights.corpus.io import load_split


def bench_sentences(n: int) -> list[str]:
    from insights.text.sentences import split_sentences

    texts = [it.text for split in ("test", "dev") for it in load_split(split)]
    sents = [t[a:b] for t in texts for a, b in split_sentences(t)]
    reps = (n + len(sents) - 1) // len(sents)
    return (sents * reps)[:n]


def measure(backend: str, n: int, batch_size: int) -> dict[str, Any]:
    import jieba

    from insights.analyze import make_doc
    from insights.nlp.pipeline import get_pipeline

    sents = bench_sentences(n)
    tk = jieba.Tokenizer()
    tk.initialize()
    t0 = time.perf_counter()
    for s in sents:
        list(tk.tokenize(s))
    jieba_s = time.perf_counter() - t0
    t_load = time.perf_counter()
    pipe = get_pipeline(backend)
    load_s = time.perf_counter() - t_load
    pipe([make_doc(s) for s in sents[:batch_size]])  # warm-up
    t0 = time.perf_counter()
    for i in range(0, len(sents), batch_size):
        pipe([make_doc(s) for s in sents[i : i + batch_size]])
    run_s = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "backend": backend,
        "sentences": len(sents),
        "sentences_per_s": round(len(sents) / run_s, 1),
        "jieba_sentences_per_s": round(len(sents) / jieba_s, 1),
        "ratio_to_jieba": round(jieba_s / run_s, 4),
        "load_s": round(load_s, 2),
        "peak_rss_mb": round(rss_mb, 1),
    }


def run_all(backends: list[str], *, n: int, batch_size: int) -> list[str]:
    lines = []
    for b in backends:
        proc = subprocess.run(
            [sys.executable, "-m", "insights.bench.analyze", b, str(n), str(batch_size)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            lines.append(f"{b}: failed: {proc.stderr.strip()[-500:]}")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        lines.append(
            f"{r['backend']}: {r['sentences_per_s']} sentences/s over {r['sentences']} sentences "
            f"(jieba alone {r['jieba_sentences_per_s']}/s, ratio {r['ratio_to_jieba']}), "
            f"load {r['load_s']} s, peak RSS {r['peak_rss_mb']} MB"
        )
    return lines


if __name__ == "__main__":
    result = measure(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
    sys.stdout.write(json.dumps(result) + "\n")
