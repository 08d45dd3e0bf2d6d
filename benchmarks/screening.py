"""Screening benchmark: writes the `screening` section of docs/BENCHMARKS.md.

Everything is measured in one run, on one message stream and one 5,000-term lexicon:

* plain exact matching with ahocorasick-rs (the lexicon's literal terms, raw text);
* flashtext keyword extraction with the same terms;
* full screening (`screen_message`: folding, homophones, numbers, context rules, decision);
* latency per message up to 500 characters (p50 / p99 / max);
* throughput with 1,000 vs 100,000 lexicon terms, compile time, memory of a 100k policy;
* batch re-screening through the CLI (`python -m probity.screening.cli`) with 1 and N workers.

Run:  .venv/bin/python benchmarks/screening.py  [--quick]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import write_section  # noqa: E402

from probity.screening import (  # noqa: E402
    LexiconEntry,
    PolicySpec,
    compile_policy,
    default_policy_spec,
    screen_message,
)

CORPUS = ROOT / "tests" / "screening" / "corpus.jsonl"

# Ordinary service traffic: the bulk of a real stream.
TEMPLATES = [
    "你好，我的订单什么时候发货？",
    "亲，您的包裹已经在派送中了，请耐心等待",
    "订单号 {order}，帮我查一下物流",
    "这个{item}有{color}的吗？",
    "{item}尺码偏大还是偏小",
    "我想退货，{item}质量有问题",
    "您好，请问还有什么可以帮您？",
    "已经为您申请退款，{n}个工作日内原路退回",
    "好的，谢谢",
    "收到了，东西不错",
    "这个{item}多少钱？",
    "现在下单立减{n}元",
    "麻烦帮我改一下收货地址",
    "快递到哪里了？三天了还没到",
    "亲，这边帮您催一下仓库",
    "可以开发票吗？",
    "{item}支持七天无理由退换吗",
    "您在订单详情页点击申请售后即可",
    "我的优惠券怎么用不了",
    "请问有没有{color}的{item}，我想买两件",
    "Hi, where is my parcel?",
    "Can I change the size of my {item_en}?",
    "Your refund of {n} yuan has been processed.",
    "Thanks, that was quick!",
    "The {item_en} arrived damaged, please help.",
    "Is the {item_en} available in {color_en}?",
    "感谢您的耐心等待，祝您生活愉快",
    "我昨天下午下的单，怎么还显示待发货",
    "亲，活动价已经是最低价了哦",
    "这款{item}是正品吗？有没有保修",
    "亲亲，{item}今天下午四点前下单当天发货哦",
    "我买的{item}少发了一件，订单 {order}",
    "收到的{item}颜色和图片不一样，能换吗",
    "好的亲，已经帮您备注了，请留意物流信息",
    "退款 {n} 元已经到账了，谢谢",
    "请问{item}怎么清洗",
    "您好，售后已经审核通过，请按页面地址寄回",
    "这个价格包邮吗",
    "Please share a photo of the damaged {item_en} so we can help.",
    "I'd like to return the {item_en}, it doesn't fit.",
    "When will my order ship? It has been {n} hours.",
    "亲，{item}目前缺货，预计{n}天后到货",
]
ITEMS = ["外套", "手机壳", "耳机", "运动鞋", "保温杯", "连衣裙", "充电宝", "床单", "背包", "手表"]
ITEMS_EN = ["jacket", "phone case", "headphones", "sneakers", "backpack", "watch"]
COLORS = ["黑色", "白色", "红色", "蓝色", "灰色"]
COLORS_EN = ["black", "white", "red", "blue"]


def ordinary(rng: random.Random) -> str:
    t = rng.choice(TEMPLATES)
    return t.format(
        order=rng.randint(10**17, 10**18 - 1), item=rng.choice(ITEMS),
        item_en=rng.choice(ITEMS_EN), color=rng.choice(COLORS),
        color_en=rng.choice(COLORS_EN), n=rng.randint(1, 300),
    )


CORPUS_SHARE = 0.05


def corpus_items() -> list[tuple[str, str]]:
    rows = [json.loads(x) for x in CORPUS.read_text("utf-8").splitlines() if x.strip()]
    return [(r["text"], r["role"]) for r in rows]


def message_stream(n: int, seed: int = 7) -> list[tuple[str, str]]:
    """95 % ordinary traffic, 5 % lines of the labelled corpus (evasions and look-alikes:
    far more than real traffic holds, so the slow path is well represented)."""
    rng = random.Random(seed)
    corpus = [json.loads(x) for x in CORPUS.read_text("utf-8").splitlines() if x.strip()]
    out: list[tuple[str, str]] = []
    for _ in range(n):
        if rng.random() < CORPUS_SHARE:
            row = rng.choice(corpus)
            out.append((row["text"], row["role"]))
        else:
            out.append((ordinary(rng), rng.choice(["customer", "agent"])))
    return out


def long_messages(stream: list[tuple[str, str]], n: int, seed: int = 11) -> list[tuple[str, str]]:
    """Messages of 1..500 characters, made by joining stream messages."""
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    for _ in range(n):
        target = rng.randint(1, 500)
        parts: list[str] = []
        size = 0
        while size < target:
            t, _r = rng.choice(stream)
            parts.append(t)
            size += len(t) + 1
        out.append((" ".join(parts)[:target], rng.choice(["customer", "agent"])))
    return out


def synthetic_terms(n: int, seed: int = 3) -> list[str]:
    """Random 2-4 character terms from common simplified characters (GB2312 level 1)."""
    rng = random.Random(seed)
    chars = [bytes([hi, lo]).decode("gb2312") for hi in range(0xB0, 0xD8)
             for lo in range(0xA1, 0xFF) if not (hi == 0xD7 and lo > 0xF9)]
    terms: set[str] = set()
    while len(terms) < n:
        terms.add("".join(rng.choice(chars) for _ in range(rng.randint(2, 4))))
    return sorted(terms)


def spec_with_terms(total: int) -> PolicySpec:
    spec = default_policy_spec()
    extra = max(0, total - len(spec.lexicon))
    cats = ["contact", "bribe", "payment"]
    spec.lexicon = spec.lexicon + [
        LexiconEntry(t, cats[i % 3], 3) for i, t in enumerate(synthetic_terms(extra))
    ]
    return spec


def plain_terms(spec: PolicySpec) -> list[str]:
    terms: set[str] = set()
    for e in spec.lexicon:
        for part in e.term.split("*"):
            if part.strip():
                terms.add(part.strip())
    return sorted(terms)


def throughput(fn: Callable[[], object], n_msgs: int, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n_msgs / best


def percentile(values: Sequence[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def memory_of_policy(terms: int) -> tuple[float, float, float]:
    """(RSS delta MiB, tracemalloc peak MiB, compile seconds), each in a fresh process
    (tracing allocations costs memory itself, so RSS is measured without it)."""
    code = f"""
import gc, json, sys, time, tracemalloc
sys.path.insert(0, {str(ROOT / 'src')!r}); sys.path.insert(0, {str(Path(__file__).parent)!r})
from screening import spec_with_terms
from probity.screening import compile_policy
from probity.screening.normalize import homophones, tables
tables(); homophones()
spec = spec_with_terms({terms})
gc.collect()
def rss():
    with open('/proc/self/statm') as fh:
        return int(fh.read().split()[1]) * 4096
trace = sys.argv[1] == "trace"
before = rss()
if trace:
    tracemalloc.start()
t0 = time.perf_counter()
policy = compile_policy(spec)
took = time.perf_counter() - t0
peak = tracemalloc.get_traced_memory()[1] if trace else 0
gc.collect()
print(json.dumps([(rss() - before) / 2**20, peak / 2**20, took]))
"""
    results = []
    for mode in ("rss", "trace"):
        out = subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True,
                             check=True, cwd=str(ROOT))
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return float(results[0][0]), float(results[1][1]), float(results[0][2])


def cli_batch(
    lines: int, workers: int, stream: list[tuple[str, str]]
) -> tuple[float, float]:
    """(lines/s, busy cores: CPU seconds of the CLI and its workers per wall second)."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as fh:
        for i in range(lines):
            text, role = stream[i % len(stream)]
            fh.write(json.dumps({"id": i, "role": role, "text": text}, ensure_ascii=False) + "\n")
        path = fh.name
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        with open(path, encoding="utf-8") as stdin:
            subprocess.run(
                [sys.executable, "-m", "probity.screening.cli", "--workers", str(workers)],
                stdin=stdin, stdout=subprocess.DEVNULL, check=True, env=env, cwd=str(ROOT),
            )
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return lines / wall, cpu / wall
    finally:
        os.unlink(path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    args = ap.parse_args()
    n_stream = 5_000 if args.quick else 20_000
    n_long = 1_000 if args.quick else 5_000
    n_cli = 20_000 if args.quick else 200_000

    load_before = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    stream = message_stream(n_stream)
    texts = [t for t, _r in stream]
    avg_len = sum(map(len, texts)) / len(texts)

    # --- one 5,000-term lexicon for all three
    spec5k = spec_with_terms(5_000)
    t0 = time.perf_counter()
    policy5k = compile_policy(spec5k)
    compile5k = time.perf_counter() - t0
    terms = plain_terms(spec5k)

    import ahocorasick_rs
    from flashtext import KeywordProcessor

    acrs = ahocorasick_rs.AhoCorasick(terms)
    kp = KeywordProcessor()
    for t in terms:
        kp.add_keyword(t)

    def run_acrs() -> None:
        find = acrs.find_matches_as_indexes
        for t in texts:
            find(t)

    def run_flashtext() -> None:
        extract = kp.extract_keywords
        for t in texts:
            extract(t)

    def run_screen(policy: object = policy5k) -> None:
        for t, r in stream:
            screen_message(t, r, policy)  # type: ignore[arg-type]

    for t, r in stream[:2000]:  # warm caches (folding tables are built at import)
        screen_message(t, r, policy5k)
    # Interleaved, best of 5 each: the three see the same machine conditions.
    best = {"acrs": float("inf"), "flash": float("inf"), "screen": float("inf")}
    for _rep in range(5):
        for name, fn in (("acrs", run_acrs), ("flash", run_flashtext), ("screen", run_screen)):
            gc.collect()
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    tp_acrs = len(texts) / best["acrs"]
    tp_flash = len(texts) / best["flash"]
    tp_screen = len(texts) / best["screen"]

    # Adversarial only: the labelled corpus (every line an evasion or a look-alike).
    adversarial = corpus_items()
    adv_texts = [t for t, _r in adversarial]

    def adv_screen() -> None:
        for t, r in adversarial:
            screen_message(t, r, policy5k)

    def adv_flash() -> None:
        for t in adv_texts:
            kp.extract_keywords(t)

    def adv_acrs() -> None:
        for t in adv_texts:
            acrs.find_matches_as_indexes(t)

    tp_adv = throughput(adv_screen, len(adversarial))
    tp_adv_flash = throughput(adv_flash, len(adversarial))
    tp_adv_acrs = throughput(adv_acrs, len(adversarial))

    # --- latency, messages up to 500 characters
    longs = long_messages(stream, n_long)
    lat: list[float] = []
    lat_cpu: list[float] = []
    for t, r in longs:
        t1 = time.perf_counter_ns()
        c1 = time.thread_time_ns()
        screen_message(t, r, policy5k)
        lat_cpu.append((time.thread_time_ns() - c1) / 1000)
        lat.append((time.perf_counter_ns() - t1) / 1000)
    lat_stream: list[float] = []
    for t, r in stream:
        t1 = time.perf_counter_ns()
        screen_message(t, r, policy5k)
        lat_stream.append((time.perf_counter_ns() - t1) / 1000)

    # --- lexicon size
    spec1k = spec_with_terms(1_000)
    policy1k = compile_policy(spec1k)
    spec10k = spec_with_terms(10_000)
    t0 = time.perf_counter()
    compile_policy(spec10k)
    compile10k = time.perf_counter() - t0
    spec100k = spec_with_terms(100_000)
    t0 = time.perf_counter()
    policy100k: object = compile_policy(spec100k)
    compile100k = time.perf_counter() - t0
    # Interleaved as well, best of 5: 1k and 100k see the same machine conditions.
    best_1k = best_100k = float("inf")
    for _rep in range(5):
        for which, pol in (("1k", policy1k), ("100k", policy100k)):
            gc.collect()
            t0 = time.perf_counter()
            run_screen(pol)
            took = time.perf_counter() - t0
            if which == "1k":
                best_1k = min(best_1k, took)
            else:
                best_100k = min(best_100k, took)
    tp_1k = len(texts) / best_1k
    tp_100k = len(texts) / best_100k
    policy100k = None  # free it before the memory measurement in a fresh process
    gc.collect()
    rss_mib, peak_mib, _took = memory_of_policy(100_000)

    # --- quality on the same run (flag rate of the stream's ordinary part)
    flagged_ordinary = sum(
        screen_message(ordinary(random.Random(i)), "customer", policy5k).decision != "allow"
        for i in range(2000)
    )

    # --- batch CLI
    cores = os.cpu_count() or 1
    cli1, busy1 = cli_batch(n_cli, 1, stream)
    clin, busyn = cli_batch(n_cli, cores, stream)

    ratio_acrs = tp_screen / tp_acrs
    rows = [
        ("ahocorasick-rs, plain exact matching", f"{tp_acrs:,.0f} msg/s", "baseline"),
        ("flashtext keyword extraction", f"{tp_flash:,.0f} msg/s", "baseline"),
        ("**full screening**, one call per message (`screen_message`)",
         f"**{tp_screen:,.0f} msg/s**", "> flashtext, >= 1/15 of ahocorasick-rs"),
        ("full screening / ahocorasick-rs", f"1/{1 / ratio_acrs:.1f}", ">= 1/15"),
        ("full screening / flashtext", f"{tp_screen / tp_flash:.2f}x", "> 1"),
        (f"adversarial lines only ({len(adversarial)} corpus lines): "
         "screening / flashtext / ahocorasick-rs",
         f"{tp_adv:,.0f} / {tp_adv_flash:,.0f} / {tp_adv_acrs:,.0f} msg/s",
         "not a target: the slow path"),
        (f"latency, messages of 1-500 chars (n={len(longs):,}), CPU time of the call",
         f"p50 {percentile(lat_cpu, .5):.0f} µs, p99 {percentile(lat_cpu, .99):.0f} µs, "
         f"max {max(lat_cpu):.0f} µs", "p99 <= 1 ms"),
        ("same, wall-clock (includes time the OS gave to other processes)",
         f"p50 {percentile(lat, .5):.0f} µs, p99 {percentile(lat, .99):.0f} µs, "
         f"max {max(lat):.0f} µs", ""),
        ("latency, stream messages",
         f"p50 {percentile(lat_stream, .5):.1f} µs, p99 {percentile(lat_stream, .99):.0f} µs",
         ""),
        ("throughput, 1,000 terms", f"{tp_1k:,.0f} msg/s", ""),
        ("throughput, 100,000 terms",
         f"{tp_100k:,.0f} msg/s ({tp_100k / tp_1k:.2f}x of 1k)", ">= 0.5x"),
        ("compile 10,000 terms", f"{compile10k:.2f} s", "<= 1 s"),
        ("compile 100,000 terms", f"{compile100k:.2f} s", ""),
        ("memory of a 100,000-term policy",
         f"{rss_mib:.0f} MiB RSS (Python objects traced: {peak_mib:.0f} MiB peak)", "reported"),
        ("ordinary messages flagged (2,000 generated)", f"{flagged_ordinary}", "~0"),
        (f"batch CLI, 1 worker ({n_cli:,} lines)",
         f"{cli1:,.0f} lines/s, {busy1:.2f} cores busy", ""),
        (f"batch CLI, {cores} workers",
         f"{clin:,.0f} lines/s ({clin / cli1:.2f}x), {busyn:.2f} cores busy", "uses all cores"),
    ]
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    load_after = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    body = f"""## Screening (`benchmarks/screening.py`)

Stream: {len(texts):,} messages (95 % ordinary service traffic, 5 % lines of the labelled
corpus: evasions and look-alikes), average {avg_len:.1f} characters, both roles. Lexicon:
{len(spec5k.lexicon):,} terms (the built-in lexicon plus synthetic terms), compiled in
{compile5k:.2f} s. All figures from one run, single process unless stated; the three
throughputs are interleaved, best of 5.

| measure | result | target |
|---|---|---|
{table}

Machine load average while measuring (other work shared the 2 cores): {load_before} before,
{load_after} after; wall-clock figures and the multi-worker speed-up suffer from it.

How: folding is `str.translate`/regex in C; lexicon, allow-list, context phrases and
compile-time homophone/pinyin spellings share one ahocorasick-rs automaton; a message goes
past the fast path only when an *anchor* part of some term is present together with the
term's other parts, when its digits could be a phone, QQ number or card, or it holds an
e-mail or a link.
"""
    write_section("screening", body)
    print(body)


if __name__ == "__main__":
    main()
