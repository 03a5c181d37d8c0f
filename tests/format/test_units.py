"""Human units (attncost.format.units): every expected string derived by hand next to it, and
properties over all integers: a count or a byte size reads back to within half a unit of its last
printed digit, never in scientific notation; a ratio has exactly 3 significant digits."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attncost.format.units import (BYTE_PREFIXES, COUNT_PREFIXES, RATIO_DIGITS, SIGNIFICANT, UNITS, Units,
                                   exact, human_bytes, human_count, legend, percent, ratio)


@pytest.mark.parametrize("value, expected", [
    (25_557_032, "25.56 M"),        # torchvision's ResNet-50: 25,557,032 / 10^6 = 25.557...
    (4_089_184_256, "4.089 G"),     # its MACs: 4,089,184,256 / 10^9 = 4.0891...
    (3_864_362_102, "3.864 G"),     # CBAM-ResNet-50 v1 MACs, as the paper prints them
    (8_464, "8.464 K"),             # SE at C = 256: 8,464 / 10^3
    (117_280, "117.3 K"),           # 117.28 -> 117.3 (4 significant digits)
    (5, "5"),                       # below one K: whole
    (999, "999"),
    (1_000, "1.000 K"),
    (999_500, "999.5 K"),
    (999_999, "1.000 M"),           # 999.999 K rounds to 1000.0 K: the next prefix
    (9_999_600, "10.00 M"),         # 9.9996 M rounds to 10.000 M: one digit fewer after the point
    (99_996, "100.0 K"),            # 99.996 K -> 100.00 K -> 100.0 K
    (-1_234_567, "-1.235 M"),       # 1.234567 -> 1.235
    (0, "0"),
    (10 ** 18, "1.000 E"),
])
def test_human_count_by_hand(value, expected):
    assert human_count(value) == expected


@pytest.mark.parametrize("value, expected", [
    (402_432, "393.0 KiB"),         # SE's peak at 256x14x14: 402,432 / 1024 = 393.0
    (812, "812 B"),
    (1_024, "1.000 KiB"),           # 2^10
    (12_544, "12.25 KiB"),          # 12,544 / 1024 = 12.25
    (9_646_336, "9.199 MiB"),       # 9,646,336 / 2^20 = 9.1995...
    (131_351_552, "125.3 MiB"),     # 131,351,552 / 2^20 = 125.26...
    (2 ** 20 - 1, "1.000 MiB"),     # 1023.999 KiB rounds to 1024.0 KiB: the next prefix
    (3 * 2 ** 30, "3.000 GiB"),
])
def test_human_bytes_by_hand(value, expected):
    assert human_bytes(value) == expected


@pytest.mark.parametrize("value, expected", [
    (1.0, "1.00"), (0.88, "0.880"), (103_168 / 117_280, "0.880"),    # ECA over SE, full FLOPs
    (1_280 / 8_192, "0.156"),                                         # 0.15625 -> 0.156
    (374_308 / 117_280, "3.19"),                                      # 3.1915...
    (1_040_449_536 / 8_192, "127,000"),                               # 127,007.02: positional, not 1.27e+05
    (0.9996, "1.00"), (999.6, "1,000"), (4.8e-05, "0.0000480"), (0.0, "0"), (float("inf"), "inf"),
])
def test_ratio_by_hand(value, expected):
    assert ratio(value) == expected


def test_percent_and_exact():
    assert (percent(0.0902), percent(0.00171), percent(0.0)) == ("9.02%", "0.171%", "0%")
    assert (exact(25_557_032), exact(5), exact(None), exact(0.15625)) == ("25,557,032", "5", "-", "0.156")
    assert UNITS == ["human", "exact"] and Units("exact") is Units.EXACT


@pytest.mark.parametrize("texts, expected", [
    (["25.56 M params, 3.864 G MACs", "peak 393.0 KiB"], "units: M, G = 10^6, 10^9; KiB = 2^10 bytes"),
    (["1.149 P", "571.7 T", "8.188 TiB", "4.000 EiB"], "units: T, P = 10^12, 10^15; TiB, EiB = 2^40, 2^60 bytes"),
    (["2.000 E FLOPs", "1,000 EiB"], "units: E = 10^18; EiB = 2^60 bytes"),     # beyond the last prefix: 1,000 EiB
    (["8.464 K"], "units: K = 10^3"),
    (["812 B", "5 params", "stage M", "mac.conv", "1x3x224x224"], None),           # no number with a prefix
])
def test_the_legend_names_exactly_the_prefixes_printed(texts, expected):
    assert legend(texts) == expected


def test_the_legend_can_explain_every_prefix():
    printed = [human_count(1000 ** step) for step in range(1, len(COUNT_PREFIXES))]
    printed += [human_bytes(1024 ** step) for step in range(1, len(BYTE_PREFIXES))]
    text = legend(printed)
    assert text == ("units: K, M, G, T, P, E = 10^3, 10^6, 10^9, 10^12, 10^15, 10^18; "
                    "KiB, MiB, GiB, TiB, PiB, EiB = 2^10, 2^20, 2^30, 2^40, 2^50, 2^60 bytes")


def _parse(text: str, prefixes: tuple, base: int) -> tuple[Fraction, Fraction]:
    """A human value back to a number, and half a unit of its last digit."""
    number, _, prefix = text.partition(" ")
    step = [p.strip() for p in prefixes].index(prefix.strip())
    digits = number.lstrip("-").replace(",", "")
    places = len(digits.split(".")[1]) if "." in digits else 0
    unit = Fraction(base) ** step
    return Fraction(number.replace(",", "")) * unit, Fraction(1, 2 * 10 ** places) * unit


NO_SCIENTIFIC = re.compile(r"^-?[0-9][0-9,]*(\.[0-9]+)?( [A-Za-z]+)?$")


@given(st.integers(min_value=-(10 ** 40), max_value=10 ** 40)
       | st.integers(min_value=1, max_value=18).flatmap(               # just below a power of ten
           lambda e: st.integers(min_value=10 ** e - 10 ** max(0, e - 3), max_value=10 ** e)))
def test_human_count_reads_back_within_half_a_unit(n):
    text = human_count(n)
    assert NO_SCIENTIFIC.match(text), text
    value, half = _parse(text, COUNT_PREFIXES, 1000)
    assert abs(value - n) <= half, (n, text)
    if abs(n) >= 1000 and abs(value) < 1000 ** (len(COUNT_PREFIXES) - 1):
        assert len(text.split(" ")[0].lstrip("-").replace(",", "").replace(".", "")) == SIGNIFICANT, text


@given(st.integers(min_value=0, max_value=2 ** 70)
       | st.integers(min_value=1, max_value=21).flatmap(
           lambda e: st.integers(min_value=10 ** e - 10 ** max(0, e - 3), max_value=10 ** e)))
def test_human_bytes_reads_back_within_half_a_unit(n):
    text = human_bytes(n)
    assert NO_SCIENTIFIC.match(text), text
    value, half = _parse(text, BYTE_PREFIXES, 1024)
    assert abs(value - n) <= half, (n, text)
    if n >= 1024:              # 4 significant digits, 1,000 to 1,023 of a prefix included
        assert len(text.split(" ")[0].replace(",", "").replace(".", "")) == SIGNIFICANT, text


@given(st.floats(min_value=1e-12, max_value=1e15, allow_nan=False, allow_infinity=False)
       | st.floats(min_value=-1e15, max_value=-1e-12))
def test_ratio_has_exactly_three_significant_digits(x):
    text = ratio(x)
    assert "e" not in text.lower() and NO_SCIENTIFIC.match(text), text
    digits = text.lstrip("-").replace(",", "")
    significant = digits.replace(".", "").lstrip("0")
    if "." in digits:
        assert len(significant) == RATIO_DIGITS, text
    else:                      # 127,000: three significant digits, then zeros to the decimal point
        assert len(significant) >= RATIO_DIGITS and set(significant[RATIO_DIGITS:]) <= {"0"}, text
    # and it is x to within half a unit of its last digit (the third significant one)
    value = float(digits) * (-1 if text.startswith("-") else 1)
    last = 10.0 ** -len(digits.split(".")[1]) if "." in digits else 10.0 ** (len(digits) - RATIO_DIGITS)
    assert abs(value - x) <= 0.5 * last * (1 + 1e-9) + abs(x) * 1e-12, (x, text)
