"""attncost.analyze on users' models: time against FlopCounterMode, and FakeTensor memory.

1. Time: ``attncost.analyze`` (eager hooks, real tensors, every op counted, the op records, memory
   and attention recognition included) on a ResNet-50 at 1x3x224x224 against torch's
   FlopCounterMode counting the same forward under no_grad, in one process, rounds interleaved
   (analyze, FlopCounterMode, plain forward), median of --repeats after one warm-up of each. The
   budget is analyze <= 1.5 x FlopCounterMode.
2. Memory: a ResNet-50 with Non-local blocks (stage 3, blocks 1, 3, 5, as the Non-local paper's
   res4) at 3x1024x1024, counted on FakeTensors (``fake=True``), then on real tensors, then run
   plainly (``model(x)`` under no_grad, no counting), each in a fresh subprocess reporting its own
   maximum resident set size (``resource.getrusage(RUSAGE_SELF).ru_maxrss``). The budget is the
   FakeTensor count under 1 GB, where the real forward needs more; the FakeTensor and the real
   count must agree on every field.

    python benchmarks/usermodels_vs_flopcounter.py [--repeats 7] [--threads 2] [--size 1024]

Exits 1 if a budget is missed or the two counts differ.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

GB = 1 << 30


def _nonlocal_resnet50(size: int):
    from attncost.networks import AttentionPlacement, definition, with_attention
    from attncost.reference.networks import build_network

    spec = with_attention(definition("resnet50"),
                          [AttentionPlacement("nonlocal", where="after_blocks", stages=(3,), blocks=(1, 3, 5))])
    return build_network(spec, (size, size))


def child(kind: str, size: int, threads: int) -> None:
    """One measurement in this (fresh) process: print its totals and max RSS as JSON."""
    import resource

    import torch

    import attncost

    torch.set_num_threads(threads)
    model = _nonlocal_resnet50(size)
    start = time.perf_counter()
    totals = {}
    if kind == "plain":
        with torch.no_grad():
            model.eval()(torch.randn(1, 3, size, size))
    else:
        analysis = attncost.analyze(model, (3, size, size), fake=(kind == "fake"))
        totals = {k: str(v) for k, v in analysis.network.total.fields().items()}
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024        # Linux: KiB
    print(json.dumps({"kind": kind, "max_rss_bytes": rss, "seconds": seconds, "totals": totals}))


def measure_memory(size: int, threads: int) -> dict:
    out = {}
    for kind in ("fake", "real", "plain"):
        proc = subprocess.run([sys.executable, __file__, "--child", kind, "--size", str(size), "--threads",
                               str(threads)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"{kind} run failed:\n{proc.stderr}")
        out[kind] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def measure_time(repeats: int, threads: int) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    import attncost
    from attncost.networks import definition
    from attncost.reference.networks import build_network

    torch.set_num_threads(threads)
    model = build_network(definition("resnet50"), (224, 224)).eval()
    x = torch.randn(1, 3, 224, 224)

    def analyze():
        attncost.analyze(model, x)

    def flopcounter():
        with torch.no_grad(), FlopCounterMode(display=False):
            model(x)

    def plain():
        with torch.no_grad():
            model(x)

    runs = {"analyze": analyze, "flopcounter": flopcounter, "plain": plain}
    times = {name: [] for name in runs}
    for fn in runs.values():
        fn()                                                    # warm-up (catalogue import, allocator)
    for _ in range(repeats):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, default=1024, help="H = W of the Non-local memory check")
    parser.add_argument("--child", choices=("fake", "real", "plain"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.size, args.threads)

    ok = True
    t = measure_time(args.repeats, args.threads)
    ratio = t["analyze"] / t["flopcounter"]
    print(f"ResNet-50 at 1x3x224x224, {args.threads} threads, median of {args.repeats} interleaved rounds:")
    print(f"  plain forward (no_grad)   {t['plain'] * 1e3:8.1f} ms")
    print(f"  FlopCounterMode           {t['flopcounter'] * 1e3:8.1f} ms")
    print(f"  attncost.analyze          {t['analyze'] * 1e3:8.1f} ms")
    print(f"  analyze / FlopCounterMode {ratio:8.2f}   (budget 1.50: {'ok' if ratio <= 1.5 else 'MISSED'})")
    ok &= ratio <= 1.5

    m = measure_memory(args.size, args.threads)
    print(f"ResNet-50 + Non-local (res4 blocks 1, 3, 5) at 1x3x{args.size}x{args.size}, max RSS per process:")
    for kind, label in (("fake", "analyze(fake=True)"), ("real", "analyze(fake=False)"), ("plain", "plain forward")):
        print(f"  {label:24s} {m[kind]['max_rss_bytes'] / GB:6.2f} GB  {m[kind]['seconds']:7.2f} s")
    fake_rss, real_rss = m["fake"]["max_rss_bytes"], m["plain"]["max_rss_bytes"]
    fits = fake_rss < GB and fake_rss < real_rss
    print(f"  FakeTensor count under 1 GB and below the plain forward: {'ok' if fits else 'MISSED'}")
    ok &= fits
    same = m["fake"]["totals"] == m["real"]["totals"]
    macs = m["fake"]["totals"].get("count:mac.conv")
    print(f"  FakeTensor and real counts equal on every field: {'yes' if same else 'NO'} (conv MACs {macs})")
    ok &= same
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
