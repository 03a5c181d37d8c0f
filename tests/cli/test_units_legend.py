"""The ``units:`` line under a table explains exactly the prefixes the output printed, up to P and E,
TiB, PiB and EiB (attncost/format/units.py), not a fixed K..T and KiB..GiB."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from attncost.cli.main import cli

#: a number printed with a prefix, as tables print them (``571.7 T``, ``8.188 TiB``)
PRINTED = re.compile(r"(?<![\w.,])\d[\d,]*(?:\.\d+)? ([KMGTPE](?:iB)?)(?!\w)")
POWERS = {"K": "10^3", "M": "10^6", "G": "10^9", "T": "10^12", "P": "10^15", "E": "10^18",
          "KiB": "2^10", "MiB": "2^20", "GiB": "2^30", "TiB": "2^40", "PiB": "2^50", "EiB": "2^60"}


def run(*args):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def explained(text: str) -> dict:
    """The legend of ``text`` as ``{prefix: power}`` (``units: K, T = 10^3, 10^12; TiB = 2^40 bytes``)."""
    lines = [line.lstrip("- ") for line in text.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("units: "))
    legend = " ".join([lines[start][len("units: "):]] + [line.strip() for line in lines[start + 1:]])
    out = {}
    for part in legend.split("; "):
        names, powers = part.removesuffix(" bytes").split(" = ")
        out.update(zip(names.split(", "), powers.split(", "), strict=True))
    return out


def printed(text: str) -> set:
    body = [line for line in text.splitlines() if not line.lstrip("- ").startswith("units: ")]
    return {match.group(1) for line in body for match in PRINTED.finditer(line)}


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_a_huge_non_local_has_t_p_and_tib_explained(fmt):
    # Non-local (embedded, subsampled keys) at 64x512x512x512: HW = 2^18 positions, the map HW x HW/4 per
    # sample in float32 is 64 * 2^18 * 2^16 * 4 = 2^42 bytes = 4 TiB; its two matmuls alone are
    # 2 * 64 * 256 * 2^18 * 2^16 = 2^49 = 5.6e14 MACs (T), twice that in FLOPs is over 10^15 (P);
    # params 526.6 K (K)
    text = run("compare", "nonlocal", "--shape", "64x512x512x512", "--format", fmt)
    assert {"K", "T", "P", "TiB"} <= printed(text)
    assert explained(text) == {prefix: POWERS[prefix] for prefix in printed(text)}
    assert "units: K, T, P = 10^3, 10^12, 10^15; TiB = 2^40 bytes" in text


@pytest.mark.parametrize("args", [
    ("compare", "se", "eca", "cbam", "--shape", "256x14x14"),
    ("network", "resnet50"),
    ("network", "resnet18", "--attn", "se", "--depth", "2"),
    ("fit", "nonlocal", "--shape", "8x512xHxW", "--budget", "1GiB"),
    ("fit", "nonlocal", "--shape", "64x512xHxW", "--budget", "1PiB", "--range", "1", "65536"),
])
def test_every_prefix_printed_is_explained_and_no_other(args):
    text = run(*args)
    assert explained(text) == {prefix: POWERS[prefix] for prefix in printed(text)}
    assert all(len(line) <= 100 for line in text.splitlines())


def test_no_units_line_where_nothing_has_a_prefix():
    text = run("compare", "eca", "--shape", "1x2x2")
    assert not printed(text) and "units:" not in text
