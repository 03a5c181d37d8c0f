"""Writing: a table or device profile attncost writes is strict JSON its own reader accepts, so a
NaN or infinite number is refused (one line naming its JSON path), never written as ``NaN`` or
``Infinity``; reports write an undefined figure as null. A build's rule refuses a non-finite budget."""

import copy
import json
import math

import pytest

from attncost.errors import LutError
from attncost.lut.harness import precision_rule
from attncost.lut.predict import predict_table, profile_text
from attncost.lut.schema import dumps, finite_or_none, non_finite
from attncost.lut.table import Lut

PROFILE = {"format": "attncost-device-profile", "version": 1, "name": "test", "macs_per_s": 2e10,
           "other_ops_per_s": 5e9, "bytes_per_s": 1e10, "seconds_per_op": 5e-6}
BAD = [float("nan"), float("inf"), float("-inf")]


def _strict(text: str):
    """json.loads that fails on NaN, Infinity and -Infinity (which json.loads accepts by default)."""
    def refuse(constant):
        raise ValueError(f"non-finite JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_names_the_json_path():
    assert non_finite({"a": [1.0, {"b": 2}], "c": "nan"}) is None
    assert non_finite({"precision": {"budget_s": math.inf}}) == "precision.budget_s"
    assert non_finite({"entries": {"layer2:k3e3": {"median_ms": math.nan}}}) == "entries.layer2:k3e3.median_ms"   # as the reader names it
    assert non_finite({"rows": [1.0, -math.inf]}) == "rows[1]"


@pytest.mark.parametrize("bad", BAD)
def test_a_table_with_a_non_finite_number_is_refused_in_both_layouts(tiny_measured_table, bad):
    _, lut = tiny_measured_table
    assert _strict(lut.text())["format"] == "attncost-lut"                   # a good one writes
    data = copy.deepcopy(lut.data)
    data["precision"] = {**(data.get("precision") or {}), "budget_s": bad}
    with pytest.raises(LutError, match=r"precision\.budget_s is not a finite number.*not written"):
        Lut(data, lut.space).text()
    data["entries"]["layer1:k3e3"]["median_ms"] = bad
    with pytest.raises(LutError, match=r'^the Single-Path table: \["1"\]\["0"\] is not a finite number'):
        Lut(data, lut.space).text("singlepath")


@pytest.mark.parametrize("bad", BAD)
def test_a_profile_or_predicted_table_with_a_non_finite_number_is_refused(tiny_space, bad):
    assert _strict(profile_text(PROFILE))["macs_per_s"] == 2e10
    assert _strict(predict_table(tiny_space, PROFILE).text())["timing"] == "predicted"
    with pytest.raises(LutError, match="the device profile: seconds_per_op is not a finite number"):
        profile_text({**PROFILE, "seconds_per_op": bad})


def test_dumps_is_strict_json():
    assert _strict(dumps({"a": [1, 2.5, None, True]}, "x")) == {"a": [1, 2.5, None, True]}
    with pytest.raises(LutError, match="^x: a is not a finite number"):
        dumps({"a": math.nan}, "x")


def test_reports_write_undefined_figures_as_null():
    report = {"accuracy": {"lut": {"kendall_tau": math.nan, "mape_pct": 2.5}}, "rows": [math.inf, 1]}
    assert finite_or_none(report) == {"accuracy": {"lut": {"kendall_tau": None, "mape_pct": 2.5}}, "rows": [None, 1]}
    assert _strict(json.dumps(finite_or_none(report), allow_nan=False))


@pytest.mark.parametrize("budget", BAD + [0.0, -1.0])
def test_a_build_rule_refuses_a_budget_that_is_never_spent(tiny_space, budget):
    with pytest.raises(LutError, match="budget_s"):
        precision_rule(tiny_space, target=0.0001, budget_s=budget)
    with pytest.raises(LutError, match="precision"):
        precision_rule(tiny_space, target=budget, budget_s=60.0)
    assert precision_rule(tiny_space, target=0.03, budget_s=60.0).budget_s == 60.0
