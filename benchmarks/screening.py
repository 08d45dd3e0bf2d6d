"""Screening benchmark: writes the `screening` section of docs/BENCHMARKS.md.

Everything is measured in one run, on the same message lists and one 5,000-term lexicon:

* plain exact matching with ahocorasick-rs (the lexicon's literal terms, raw text);
* flashtext keyword extraction with the same terms;
* full screening (`screen_message`: folding, homophones, numbers, context rules, decision);

each on three streams: 95 % ordinary / 5 % adversarial, 100 % ordinary, 100 % adversarial.
Throughput is CPU time of this process (`time.process_time`), the engines interleaved
(A B C, B C A, ...) and the median of the repetitions taken, so load from other processes
weighs on all of them alike. Also: latency per message up to 500 characters (CPU time of
the call), throughput with 1,000 vs 100,000 lexicon terms (interleaved, median), compile
time, memory of a 100k policy, and batch re-screening through the CLI
(`python -m probity.screening.cli`) with 1 vs 2 workers on 200,000 lines, run alone,
next to a machine control (a pure CPU loop in 1 vs 2 processes).

Run:  .venv/bin/python benchmarks/screening.py  [--quick] [--no-report]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# PROBITY_BENCH_SRC: the source tree to measure (set for the baseline's child process only).
sys.path.insert(0, os.environ.get("PROBITY_BENCH_SRC") or str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import write_section  # noqa: E402

from probity.screening import (  # noqa: E402
    LexiconEntry,
    PolicySpec,
    compile_policy,
    default_policy_spec,
    screen_message,
)
from probity.screening.engine import screen_rules  # noqa: E402

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


def message_stream(
    n: int, seed: int = 7, share: float = CORPUS_SHARE
) -> list[tuple[str, str]]:
    """95 % ordinary traffic, 5 % lines of the labelled corpus (evasions and look-alikes:
    far more than real traffic holds, so the slow path is well represented); ``share``
    sets the corpus part (0: ordinary only, 1: adversarial only)."""
    rng = random.Random(seed)
    corpus = [json.loads(x) for x in CORPUS.read_text("utf-8").splitlines() if x.strip()]
    out: list[tuple[str, str]] = []
    for _ in range(n):
        if rng.random() < share:
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


def cpu_medians(fns: dict[str, Callable[[], object]], repeat: int = 7) -> dict[str, float]:
    """Median CPU seconds of each function, run interleaved: repetition k starts at the
    k-th function (A B C, B C A, C A B, ...), so no engine always runs first or last and
    load from other processes falls on all of them alike."""
    names = list(fns)
    times: dict[str, list[float]] = {name: [] for name in names}
    for rep in range(repeat):
        for i in range(len(names)):
            name = names[(rep + i) % len(names)]
            gc.collect()
            t0 = time.process_time()
            fns[name]()
            times[name].append(time.process_time() - t0)
    return {name: statistics.median(v) for name, v in times.items()}


def percentile(values: Sequence[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def memory_of_policy(terms: int, src: Path = ROOT / "src") -> tuple[float, float, float]:
    """(RSS delta MiB, tracemalloc peak MiB, compile seconds), each in a fresh process
    (tracing allocations costs memory itself, so RSS is measured without it); ``src``: the
    source tree to measure (another checkout for a baseline in the same run). The spec is
    written here and read there, so the child imports nothing but ``src``'s probity."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as fh:
        fh.write(spec_with_terms(terms).to_json())
        spec_path = fh.name
    code = f"""
import gc, json, sys, time, tracemalloc
sys.path.insert(0, {str(src)!r})
from probity.screening import PolicySpec, compile_policy
from probity.screening.normalize import homophones, tables
tables(); homophones()
with open({spec_path!r}, encoding="utf-8") as fh:
    spec = PolicySpec.from_json(fh.read())
gc.collect()
def rss():
    with open('/proc/self/statm') as fh:
        return int(fh.read().split()[1]) * 4096
trace = sys.argv[1] == "trace"
try:  # give back what reading the spec freed, so the compile's own growth is measured
    import ctypes
    ctypes.CDLL("libc.so.6").malloc_trim(0)
except (OSError, AttributeError):
    pass
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
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    try:
        for mode in ("rss", "trace"):
            out = subprocess.run([sys.executable, "-c", code, mode], capture_output=True,
                                 text=True, check=True, cwd=str(ROOT), env=env)
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        os.unlink(spec_path)
    return float(results[0][0]), float(results[1][1]), float(results[0][2])


def cli_input(lines: int, stream: list[tuple[str, str]]) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as fh:
        for i in range(lines):
            text, role = stream[i % len(stream)]
            fh.write(json.dumps({"id": i, "role": role, "text": text}, ensure_ascii=False) + "\n")
        return fh.name


def cli_batch(path: str, workers: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the CLI and its workers) for one run over ``path``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(path, encoding="utf-8") as stdin:
        subprocess.run(
            [sys.executable, "-m", "probity.entry", "screen", "--workers", str(workers)],
            stdin=stdin, stdout=subprocess.DEVNULL, check=True, env=env, cwd=str(ROOT),
        )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def cli_start(one_line: str, runs: int = 5, baseline: Path | None = None
              ) -> dict[str, tuple[float, float]]:
    """Median (wall s, CPU s) of starting a process and screening one line: `probity screen`
    as the console script runs it (probity.entry, default options), the full `probity`
    command line's imports (what `probity screen` loaded before session 3), a bare
    `python -c pass`, and with ``baseline`` (another checkout's src) its `probity screen`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmds: dict[str, list[str]] = {
        "probity screen": [sys.executable, "-m", "probity.entry", "screen"],
        "import probity.cli (full app)": [sys.executable, "-c", "import probity.cli"],
        "python -c pass": [sys.executable, "-c", "pass"],
    }
    if baseline is not None:
        cmds["probity screen (baseline)"] = [
            sys.executable, "-c", f"import sys; sys.path.insert(0, {str(baseline)!r}); "
            "sys.argv = ['probity', 'screen']; from probity.entry import main; main()"]
    out: dict[str, tuple[float, float]] = {}
    for name, cmd in cmds.items():
        walls: list[float] = []
        cpus: list[float] = []
        for _ in range(runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            with open(one_line, encoding="utf-8") as stdin:
                subprocess.run(cmd, stdin=stdin, stdout=subprocess.DEVNULL, check=True,
                               env=env, cwd=str(ROOT))
            walls.append(time.perf_counter() - t0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
        out[name] = (statistics.median(walls), statistics.median(cpus))
    return out


_CONTROL = "n = 0\nfor i in range(12_000_000):\n    n += i & 7\n"


def parallel_control() -> float:
    """What a second process gains on this machine right now: two units of the same pure
    CPU loop one after the other vs in two processes at once (wall-clock speed-up; 2.0 on
    two free cores, less when other work holds them)."""
    cmd = [sys.executable, "-c", _CONTROL]
    t0 = time.perf_counter()
    for _ in range(2):
        subprocess.run(cmd, check=True)
    seq = time.perf_counter() - t0
    t0 = time.perf_counter()
    procs = [subprocess.Popen(cmd) for _ in range(2)]
    for proc in procs:
        proc.wait()
    par = time.perf_counter() - t0
    return seq / par


STREAM_HEADER = (
    "| stream | full screening msg/s | flashtext msg/s | ahocorasick-rs msg/s "
    "| screening / flashtext (issue 17: >= 1.3x on 95/5) "
    "| screening / ahocorasick-rs (issue 17: >= 1/6 on 95/5, >= 1/10 adversarial) |\n"
    "|---|---|---|---|---|---|"
)


def _verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def model_version() -> int:
    from probity.screening.intent import load_model

    return load_model().version


def learned_layer_rows(policy: Any, stream: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Training time and size of the shipped model; its cost per message without its cache."""
    from probity.screening.intent import builtin_model_bytes, normalise

    model = policy.model
    meta = model.meta
    size = len(builtin_model_bytes())
    t0 = time.process_time()
    for t, r in stream:
        model._raw(normalise(t), r)
    uncached = (time.process_time() - t0) / len(stream) * 1e6
    norm = [(normalise(t), r) for t, r in stream]
    distinct = len(set(norm))
    return [
        ("learned layer: model file, features, training (recorded when trained)",
         f"{size / 1024:,.0f} KiB, {meta.get('features', 0):,} n-grams, "
         f"{meta.get('examples', 0):,} lines, {meta.get('seconds', 0)} s to train"),
        ("learned layer without its cache, CPU per message (95/5 stream)",
         f"{uncached:.1f} µs"),
        ("distinct texts in the model's view (digits as 0) in the 95/5 stream: its cache "
         "keeps short texts' scores, so repeats cost one normalisation and a lookup",
         f"{distinct:,} of {len(norm):,}"),
    ]


STREAM_SIZES = {"quick": 5_000, "full": 20_000}


def throughput_and_latency(n_stream: int, n_long: int, reps: int) -> dict[str, Any]:
    """Full screening vs ahocorasick-rs on the three streams (CPU, interleaved, median) and
    the CPU p99 on messages of 1-500 characters, with the 5,000-term lexicon: what
    ``--baseline`` measures for the other checkout in a child process (same script, same
    message lists; the ratio to ahocorasick-rs in its own process is what compares)."""
    import ahocorasick_rs

    spec = spec_with_terms(5_000)
    policy = compile_policy(spec)
    acrs = ahocorasick_rs.AhoCorasick(plain_terms(spec))
    streams = {
        "95 % ordinary / 5 % adversarial": message_stream(n_stream),
        "100 % ordinary": message_stream(n_stream, share=0.0),
        "100 % adversarial": message_stream(n_stream // 4, share=1.0),
    }
    first = streams["95 % ordinary / 5 % adversarial"]
    for t, r in first[:2000]:
        screen_message(t, r, policy)
    out: dict[str, Any] = {}
    for label, items in streams.items():
        plain = [t for t, _r in items]

        def run_acrs(plain: list[str] = plain) -> None:
            find = acrs.find_matches_as_indexes
            for t in plain:
                find(t)

        def run_screen(items: list[tuple[str, str]] = items) -> None:
            for t, r in items:
                screen_message(t, r, policy)

        med = cpu_medians({"acrs": run_acrs, "screen": run_screen}, reps)
        out[label] = {name: len(items) / sec for name, sec in med.items()}
    lat: list[float] = []
    for t, r in long_messages(first, n_long):
        c1 = time.thread_time_ns()
        screen_message(t, r, policy)
        lat.append((time.thread_time_ns() - c1) / 1000)
    out["p99_cpu_us"] = percentile(lat, .99)
    return out


def compiled_note() -> str:
    """Which path this process ran: the compiled modules (setup.py) or the pure-Python
    fallback."""
    from probity.screening import compiled_modules

    mods = compiled_modules()
    if not mods:
        return ("Screening ran as pure Python (no compiled modules: not built, stale, or "
                "`PROBITY_SCREENING_PURE=1`).")
    return (f"Screening ran compiled (Cython, setup.py): {', '.join(mods)}; the baseline "
            "row, if any, is the other checkout as it is (a tree without a build runs pure "
            "Python).")


def baseline_throughput(base_src: Path, n_stream: int, n_long: int, reps: int
                        ) -> dict[str, Any]:
    """:func:`throughput_and_latency` of another checkout's src, in a child process."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PROBITY_BENCH_SRC"] = str(base_src)
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child-throughput",
         f"{n_stream},{n_long},{reps}"],
        capture_output=True, text=True, check=True, cwd=str(ROOT), env=env)
    got: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return got


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    ap.add_argument("--baseline", type=Path, default=None, help="another checkout (e.g. a git "
                    "worktree of the commit before a change): its 100k-term policy memory "
                    "and `probity screen` start are measured in the same run")
    ap.add_argument("--no-report", action="store_true", help="print only, leave the docs")
    ap.add_argument("--child-throughput", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_throughput:  # the baseline's side of --baseline (see baseline_throughput)
        n_s, n_l, n_r = (int(x) for x in args.child_throughput.split(","))
        print(json.dumps(throughput_and_latency(n_s, n_l, n_r)))
        return
    n_stream = 5_000 if args.quick else 20_000
    n_long = 1_000 if args.quick else 5_000
    # The batch CLI's lines: enough work for a second worker to show against the start-up
    # (at ~7 µs a line, 20,000 lines were 0.14 s beside 0.3 s of start-up).
    n_cli = 100_000 if args.quick else 200_000
    reps = 5 if args.quick else 9

    load_before = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    base_src = args.baseline.resolve() / "src" if args.baseline is not None else None
    streams = {
        "95 % ordinary / 5 % adversarial": message_stream(n_stream),
        "100 % ordinary": message_stream(n_stream, share=0.0),
        "100 % adversarial": message_stream(n_stream // 4, share=1.0),
    }
    stream = streams["95 % ordinary / 5 % adversarial"]
    texts = [t for t, _r in stream]

    # --- one 5,000-term lexicon for all three engines
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

    def engines(items: list[tuple[str, str]]) -> dict[str, Callable[[], object]]:
        plain = [t for t, _r in items]

        def run_acrs() -> None:
            find = acrs.find_matches_as_indexes
            for t in plain:
                find(t)

        def run_flash() -> None:
            extract = kp.extract_keywords
            for t in plain:
                extract(t)

        def run_screen() -> None:
            for t, r in items:
                screen_message(t, r, policy5k)

        def run_rules() -> None:  # the lexicon layer alone: what the learned layer adds
            for t, r in items:
                screen_rules(t, r, policy5k)

        return {"acrs": run_acrs, "flash": run_flash, "screen": run_screen, "rules": run_rules}

    for t, r in stream[:2000]:  # warm caches (folding tables are built at import)
        screen_message(t, r, policy5k)
    tput: dict[str, dict[str, float]] = {}
    for label, items in streams.items():
        med = cpu_medians(engines(items), reps)
        tput[label] = {name: len(items) / sec for name, sec in med.items()}
    # The baseline checkout's screening on the same streams, in a child process right after.
    base_tp = (baseline_throughput(base_src, n_stream, n_long, reps)
               if base_src is not None else None)

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

    def screen_with(policy: object) -> Callable[[], object]:
        def run() -> None:
            for t, r in stream:
                screen_message(t, r, policy)  # type: ignore[arg-type]
        return run

    med = cpu_medians({"1k": screen_with(policy1k), "100k": screen_with(policy100k)}, reps)
    tp_1k = len(texts) / med["1k"]
    tp_100k = len(texts) / med["100k"]
    policy100k = None  # free it before the memory measurement in a fresh process
    gc.collect()
    rss_mib, peak_mib, _took = memory_of_policy(100_000)
    base_mem = memory_of_policy(100_000, base_src) if base_src is not None else None

    # --- quality on the same run (flag rate of generated ordinary messages)
    flagged_ordinary = sum(
        screen_message(ordinary(random.Random(i)), "customer", policy5k).decision != "allow"
        for i in range(2000)
    )

    # --- batch CLI: 1 vs 2 workers, alternated (1 2 2 1), nothing else running in this
    # process meanwhile; medians of two runs each. Start-up (imports, folding tables,
    # policy compile: serial whatever the workers) is measured on a one-line input, and a
    # machine control (a pure CPU loop in 1 vs 2 processes) shows what a second process
    # could gain at that moment.
    cores = os.cpu_count() or 1
    path = cli_input(n_cli, stream)
    one_line = cli_input(1, stream)
    cli_runs: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
    startup_runs: dict[int, list[float]] = {1: [], 2: []}
    controls = [parallel_control()]
    starts = cli_start(one_line, baseline=base_src)
    try:
        for workers in (1, 2, 2, 1):
            cli_runs[workers].append(cli_batch(path, workers))
            startup_runs[workers].append(cli_batch(one_line, workers)[0])
    finally:
        os.unlink(path)
        os.unlink(one_line)
    controls.append(parallel_control())
    control = statistics.median(controls)
    wall1 = statistics.median(w for w, _c in cli_runs[1])
    wall2 = statistics.median(w for w, _c in cli_runs[2])
    cpu1 = statistics.median(c for _w, c in cli_runs[1])
    cpu2 = statistics.median(c for _w, c in cli_runs[2])
    start1 = statistics.median(startup_runs[1])
    start2 = statistics.median(startup_runs[2])
    steady1 = n_cli / max(wall1 - start1, 1e-9)
    steady2 = n_cli / max(wall2 - start2, 1e-9)
    load_after = ", ".join(f"{x:.1f}" for x in os.getloadavg())

    # --- report
    targets_rows: list[tuple[str, str, str]] = []
    stream_rows: list[str] = []
    for label, tp in tput.items():
        vs_flash = tp["screen"] / tp["flash"]
        vs_acrs = tp["screen"] / tp["acrs"]
        adversarial = label == "100 % adversarial"
        # Issue 17's bars: the 95/5 stream >= 1.3x flashtext and >= 1/6 of ahocorasick-rs; the
        # all-adversarial stream >= 1/10 of ahocorasick-rs (no flashtext bar).
        flash_verdict = "" if adversarial else " " + _verdict(vs_flash >= 1.3)
        stream_rows.append(
            f"| {label} | **{tp['screen']:,.0f}** | {tp['flash']:,.0f} | {tp['acrs']:,.0f} | "
            f"{vs_flash:.2f}x{flash_verdict} | "
            f"1/{1 / vs_acrs:.1f} {_verdict(vs_acrs >= 1 / (10 if adversarial else 6))} |"
        )
    main_tp = tput["95 % ordinary / 5 % adversarial"]
    p99_cpu = percentile(lat_cpu, .99)
    targets_rows = [
        ("full screening >= 1/6 of ahocorasick-rs (95/5 stream, issue 17)",
         f"1/{main_tp['acrs'] / main_tp['screen']:.1f}",
         _verdict(main_tp["screen"] / main_tp["acrs"] >= 1 / 6)),
        ("full screening >= 1.3x flashtext (95/5 stream, issue 17)",
         f"{main_tp['screen'] / main_tp['flash']:.2f}x",
         _verdict(main_tp["screen"] >= 1.3 * main_tp["flash"])),
        (f"p99 latency <= 0.4 ms (issue 17; issue 6 asked <= 1 ms), messages of 1-500 chars "
         f"(n={len(longs):,}), CPU time",
         f"p50 {percentile(lat_cpu, .5):.0f} µs, p99 {p99_cpu:.0f} µs, "
         f"max {max(lat_cpu):.0f} µs",
         _verdict(p99_cpu <= 400) + ("" if p99_cpu <= 400 else
                                     f" (<= 1 ms {_verdict(p99_cpu <= 1000)})")),
        ("throughput with 100,000 terms >= 0.5x of 1,000 terms (95/5 stream, CPU, median)",
         f"{tp_100k:,.0f} vs {tp_1k:,.0f} msg/s: {tp_100k / tp_1k:.2f}x",
         _verdict(tp_100k / tp_1k >= 0.5)),
        (f"batch CLI uses all cores: `--workers 1` vs `--workers 2`, {n_cli:,} lines, "
         "wall clock",
         f"{n_cli / wall1:,.0f} vs {n_cli / wall2:,.0f} lines/s: {wall1 / wall2:.2f}x; "
         f"start-up excluded: {steady1:,.0f} vs {steady2:,.0f} lines/s: "
         f"{steady2 / steady1:.2f}x; cores busy {cpu1 / wall1:.2f} vs {cpu2 / wall2:.2f}; "
         f"machine control (pure CPU loop, 1 vs 2 processes, same minutes): {control:.2f}x",
         _verdict(steady2 / steady1 >= 1.5) + " if the bar is >= 1.5x on 2 cores; "
         f"{steady2 / steady1 / control:.0%} of what the machine gave the control"),
        ("100 % adversarial stream >= 1/10 of ahocorasick-rs (issue 17)",
         f"1/{tput['100 % adversarial']['acrs'] / tput['100 % adversarial']['screen']:.1f}",
         _verdict(tput["100 % adversarial"]["screen"] / tput["100 % adversarial"]["acrs"]
                  >= 1 / 10)),
        ("memory of a 100,000-term policy <= 64 MiB (RSS growth while compiling)",
         f"{rss_mib:.0f} MiB", _verdict(rss_mib <= 64)),
        ("`probity screen` start <= 0.5 s (one-line input, median of 5, wall)",
         f"{starts['probity screen'][0]:.2f} s wall, {starts['probity screen'][1]:.2f} s CPU "
         f"(bare Python: {starts['python -c pass'][0]:.2f} s)",
         _verdict(starts["probity screen"][0] <= 0.5)),
    ]
    other_rows = [
        ("same latency, wall-clock (includes time the OS gave to other processes)",
         f"p50 {percentile(lat, .5):.0f} µs, p99 {percentile(lat, .99):.0f} µs, "
         f"max {max(lat):.0f} µs"),
        ("batch CLI, CPU seconds per 100,000 lines, 1 vs 2 workers (2 workers also pay "
         "for pickling chunks between processes)",
         f"{cpu1 / n_cli * 1e5:.1f} s vs {cpu2 / n_cli * 1e5:.1f} s"),
        ("batch CLI start-up (one-line input), 1 vs 2 workers",
         f"{start1:.2f} s vs {start2:.2f} s"),
        ("process start + one line, median of 5 (wall / CPU): "
         + "; ".join(f"{k}" for k in starts),
         "; ".join(f"{w:.2f} s / {c:.2f} s" for w, c in starts.values())),
        ("compile 5,000 / 10,000 / 100,000 terms",
         f"{compile5k:.2f} s / {compile10k:.2f} s / {compile100k:.2f} s"),
        ("memory of a 100,000-term policy",
         f"{rss_mib:.0f} MiB RSS (Python objects traced: {peak_mib:.0f} MiB peak)"),
        ("ordinary messages flagged (2,000 generated)", f"{flagged_ordinary}"),
    ]
    if base_mem is not None and args.baseline is not None:
        commit = subprocess.run(["git", "-C", str(args.baseline), "rev-parse", "--short",
                                 "HEAD"], capture_output=True, text=True, check=False
                                ).stdout.strip() or str(args.baseline)
        b_wall, b_cpu = starts["probity screen (baseline)"]
        other_rows.append((f"baseline in the same run ({commit}): memory of a 100,000-term "
                           "policy; `probity screen` start (wall / CPU)",
                           f"{base_mem[0]:.0f} MiB RSS (traced peak {base_mem[1]:.0f} MiB); "
                           f"{b_wall:.2f} s / {b_cpu:.2f} s"))
    if base_tp is not None:
        commit = subprocess.run(["git", "-C", str(args.baseline), "rev-parse", "--short",
                                 "HEAD"], capture_output=True, text=True, check=False
                                ).stdout.strip() or str(args.baseline)
        parts = []
        for label, tp in tput.items():
            b = base_tp[label]
            parts.append(f"{label}: 1/{b['acrs'] / b['screen']:.1f} "
                         f"(this tree 1/{tp['acrs'] / tp['screen']:.1f})")
        other_rows.append((f"baseline in the same run ({commit}, a child process right after "
                           "this one's streams): full screening / ahocorasick-rs in its own "
                           "process; p99 CPU, 1-500 chars",
                           "; ".join(parts) + f"; p99 {base_tp['p99_cpu_us']:.0f} µs "
                           f"(this tree {p99_cpu:.0f} µs)"))
    other_rows.append((
        "the lexicon layer alone (`screen_rules`, same interleaved runs), msg/s per stream; "
        "the learned layer's share of full screening's CPU",
        "; ".join(f"{label}: {tp['rules']:,.0f} msg/s, learned layer "
                  f"{max(0.0, 1 - tp['screen'] / tp['rules']):.0%}"
                  for label, tp in tput.items())))
    other_rows.extend(learned_layer_rows(policy5k, stream))
    avg = {label: sum(len(t) for t, _r in items) / len(items) for label, items in streams.items()}
    body = f"""## Screening (`benchmarks/screening.py`)

Both layers are on: the lexicon rules and the learned intent layer (model v{model_version()}),
as shipped; "full screening" is `screen_message` with the default policy plus synthetic terms.
{compiled_note()}
{"Quick run (smaller sizes)." if args.quick else ""}

Streams: {len(texts):,} messages of 95 % ordinary service traffic and 5 % lines of the
labelled corpus (evasions and look-alikes), average {avg[next(iter(avg))]:.1f} characters;
{len(streams["100 % ordinary"]):,} ordinary messages only; \
{len(streams["100 % adversarial"]):,} corpus lines only. Both roles. Lexicon:
{len(spec5k.lexicon):,} terms (the built-in lexicon plus synthetic terms), compiled in
{compile5k:.2f} s; ahocorasick-rs and flashtext get its {len(terms):,} literal parts.
Throughput is messages per CPU second of this process (`process_time`), the three engines
interleaved on the identical message list, median of {reps} repetitions.

{STREAM_HEADER}
{chr(10).join(stream_rows)}

| target | result | |
|---|---|---|
{chr(10).join(f"| {a} | {b} | {c} |" for a, b, c in targets_rows)}

| also measured | result |
|---|---|
{chr(10).join(f"| {a} | {b} |" for a, b in other_rows)}

The issue's throughput targets are stated for the 95/5 stream. On ordinary traffic alone
nearly every message ends in the fast path; on adversarial lines alone every message is an
evasion or a look-alike and takes the full analysis (folding with an offset map, every key,
numbers, context rules), which flashtext's plain keyword lookup does not do. Issue 17 asks
1/10 of ahocorasick-rs on it; it is far off. Where its CPU goes (py-spy, 12,362 samples of
the adversarial stream, 2026-12-05, model v7): the learned layer 18 % (its own folding,
scoring and drivers), the two automaton scans (anchors, then every key) about 13 %, the
exact fold with its offset map 8 %, assembling term hits 12 %, the decision and masking
11 %, numbers, e-mails and links 8 %, the rest spread thinly over context rules: no part
dominates, so 1/10 needs about 5x less Python per message, which restructuring the rules did
not give (the lookups through the compact tables, the fold's offset map and the compile were
restructured in session 6: a few per cent on this stream, see the baseline row). On ordinary
traffic and on long messages the learned layer is the larger part (the share row; py-spy:
59 % of the ordinary stream, 60 % of the slowest 5 % of 1-500-character messages, most of
it the model's own normalisation and n-gram lookup), so that is where the 95/5 ratio and the
p99 are won or lost. Every run of `tests/screening/test_screening_pinned_decisions.py`
proves a speed change left every decision on the corpus and the blind rounds as it was.

Machine: {cores} cores, load average {load_before} before and {load_after} after (other
work shared the machine). CPU-time figures are robust to that load; wall-clock figures
(the wall latency row, the batch CLI speed-up) are not: a second worker can only help as
much as a core is actually free, which the machine control measures in the same minutes.

How: folding is `str.replace`/`str.translate`/regex in C; lexicon, allow-list, context
phrases and compile-time homophone/pinyin spellings share one Aho-Corasick automaton (the
engine's own over code points, `screening/_ac.pyx`, where it is compiled; ahocorasick-rs on the
pure path), the fast path's anchors another; a message goes past the fast path only when an
*anchor* part of some term is present together with the term's other parts, when its digits
could be a phone, QQ number or card, or it holds an e-mail or a link.
"""
    if not args.no_report:
        write_section("screening", body)
    print(body)


if __name__ == "__main__":
    main()
