"""Time `attncost compare se eca cbam --shape 256x14x14` against the peers counting the same modules.

Each tool runs as a whole process (interpreter start and imports included: what a user waits for),
several times, interleaved so drift hits all alike; the median wall time is reported with its ratio to
attncost. The peers count the same attncost reference modules (SE, ECA, CBAM at 1x256x14x14).

    python benchmarks/compare_peers.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

#: a whole-process ``attncost compare`` at least this many times faster than fvcore counting the same modules
TARGET = 10.0

PEER_SETUP = """
import torch
from attncost.reference import build
shape = (1, 256, 14, 14)
modules = [build(name, shape) for name in ("se", "eca", "cbam")]
x = torch.randn(*shape)
"""

COMMANDS = {
    "attncost compare": [shutil.which("attncost") or "attncost", "compare", "se", "eca", "cbam", "--shape", "256x14x14"],
    "fvcore FlopCountAnalysis": [sys.executable, "-c", PEER_SETUP + """
from fvcore.nn import FlopCountAnalysis
for m in modules:
    a = FlopCountAnalysis(m, x)
    a.unsupported_ops_warnings(False); a.uncalled_modules_warnings(False)
    print(a.total())
"""],
    "torch FlopCounterMode": [sys.executable, "-c", PEER_SETUP + """
from torch.utils.flop_counter import FlopCounterMode
for m in modules:
    with FlopCounterMode(display=False) as c, torch.no_grad():
        m(x)
    print(c.get_total_flops())
"""],
    "thop profile": [sys.executable, "-c", PEER_SETUP + """
import thop
for m in modules:
    print(thop.profile(m, inputs=(x,), verbose=False))
"""],
    "ptflops": [sys.executable, "-c", PEER_SETUP + """
from ptflops import get_model_complexity_info
for m in modules:
    print(get_model_complexity_info(m, (256, 14, 14), as_strings=False, print_per_layer_stat=False, verbose=False))
"""],
}


def time_once(command) -> float | None:
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        print(f"  failed: {' '.join(command[:2])}: {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for round_ in range(args.repeats):
        print(f"round {round_ + 1}/{args.repeats}", file=sys.stderr)
        for name, command in COMMANDS.items():
            t = time_once(command)
            if t is not None:
                times[name].append(t)
    base = statistics.median(times["attncost compare"])
    print(f"{'tool':28s} {'median s':>9s} {'min s':>7s} {'x attncost':>10s}  (whole process, {args.repeats} runs)")
    for name, values in times.items():
        if not values:
            print(f"{name:28s} {'n/a':>9s}")
            continue
        median = statistics.median(values)
        print(f"{name:28s} {median:9.3f} {min(values):7.3f} {median / base:10.2f}")
    fvcore = times["fvcore FlopCountAnalysis"]
    if fvcore:
        ratio = statistics.median(fvcore) / base
        verdict = "meets" if ratio >= TARGET else "MISSES"
        print(f"fvcore / attncost = {ratio:.1f}x: {verdict} the target of at least {TARGET:g}x (issue 14)")
        if ratio < TARGET:
            sys.exit(1)


if __name__ == "__main__":
    main()
