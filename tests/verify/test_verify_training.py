"""``verify --mode train`` (attncost/verify/training.py): the formula side's training step
(attncost/cost/training.py) against the training tracer (attncost/trace/training.py, a real
``backward()``) on random configurations and in symbolic N, H, W.

What these tests hold: agreement is reported as a pass (se, cbam, nonlocal); a formula side made wrong
by exactly 1 in one number, whichever it is, is reported as that number differing by exactly 1 (read
back from the mismatch line, not from the tool's own totals) and makes the CLI exit 1; an entry the
formula side cannot differentiate is "n/a", never a pass, and does not fail the command."""

import dataclasses
import json
import re

import pytest
from click.testing import CliRunner

from attncost import catalogue
from attncost.cli.main import cli
from attncost.cost.autograd import TrainingError
from attncost.verify import training
from attncost.verify.training import FAIL, NOT_COVERED, PASS, verify_training_entry
from attncost.verify.verify import NOT_APPLICABLE


def run(*args):
    return CliRunner().invoke(cli, list(args))


def off_by_one(monkeypatch, field: str):
    """Make the formula side wrong by 1 in ``field``: ``backward <kind>``, ``forward count:<kind>``, or
    a TrainingCost field (``saved_elements``, ``peak_elements``, ``trainable_params``)."""
    right = training.forward_training_cost

    def wrong(*args, **kwargs):
        cost = right(*args, **kwargs)
        if field.startswith("backward "):
            kind = field.removeprefix("backward ")
            return dataclasses.replace(cost, backward_counts={**cost.backward_counts,
                                                              kind: cost.backward_counts.get(kind, 0) + 1})
        if field.startswith("forward count:"):
            kind = field.removeprefix("forward count:")
            counts = {**cost.forward.counts, kind: cost.forward.counts.get(kind, 0) + 1}
            return dataclasses.replace(cost, forward=dataclasses.replace(cost.forward, counts=counts))
        return dataclasses.replace(cost, **{field: getattr(cost, field) + 1})

    monkeypatch.setattr(training, "forward_training_cost", wrong)


# -- agreement --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, proof", [("se", "proved in N,H,W"), ("nonlocal", "proved in N,H,W"),
                                         # CBAM's channel gate pools with a kernel of the map's size
                                         ("cbam", "proved in N (H=9, W=11 fixed by the module)")])
def test_a_real_pass(name, proof):
    report = verify_training_entry(catalogue.get(name), samples=2)
    assert report.result == PASS and report.passed, report.mismatches + [report.symbolic]
    assert report.configs == 2 and not report.mismatches and not report.not_covered
    assert (report.route, report.symbolic) == ("symbolic trace", proof)


# -- a wrong formula is caught, in the number that is wrong ------------------------------------------------

@pytest.mark.parametrize("field", ["backward mac.conv", "backward elementwise.sigmoid_backward",
                                   "forward count:elementwise.mul", "saved_elements", "peak_elements",
                                   "trainable_params"])
def test_a_formula_off_by_one_is_a_mismatch_in_that_number(field, monkeypatch):
    off_by_one(monkeypatch, field)
    report = verify_training_entry(catalogue.get("se"), samples=2)
    assert report.result == FAIL and not report.passed
    assert report.differs == {field, f"{field} (symbolic)"}
    assert len(report.mismatches) == 2                    # one line per configuration
    for line in report.mismatches:
        found = re.search(rf"{re.escape(field)} formula=(\d+) traced=(\d+)$", line)
        assert found, line
        assert int(found.group(1)) - int(found.group(2)) == 1, line
    assert report.symbolic.startswith(f"FAILED: {field} formula="), report.symbolic


def test_a_kind_only_the_formula_counts_is_a_mismatch(monkeypatch):
    """A backward kind the traced step never runs (SE has no softmax) counts 0 on the tracer's side."""
    off_by_one(monkeypatch, "backward softmax.backward")
    report = verify_training_entry(catalogue.get("se"), samples=1, symbolic=False)
    assert report.mismatches[0].endswith("backward softmax.backward formula=1 traced=0")


def test_the_cli_exits_1_on_a_mismatch(monkeypatch):
    off_by_one(monkeypatch, "backward mac.conv")
    result = run("verify", "se", "--mode", "train", "--samples", "1", "--no-symbolic")
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.stdout and "backward mac.conv" in result.stdout          # the differs column
    assert "backward mac.conv formula=" in result.stderr                            # the mismatch line


# -- not covered ----------------------------------------------------------------------------------------

#: what the formula side raises for an op without a backward (Program.grid_sample's text, before it had one)
NO_BACKWARD = "Program.grid_sample has no backward yet: a training program cannot differentiate it"


def without_a_backward(monkeypatch, name="stn"):
    """The formula side unable to differentiate entry ``name`` (the catalogue gains backwards over
    time, so which real entries lack one is not fixed: the test makes one)."""
    right = training.formula_training_cost

    def lacking(entry, shape, hp):
        if entry.name == name:
            raise TrainingError(NO_BACKWARD)
        return right(entry, shape, hp)

    monkeypatch.setattr(training, "formula_training_cost", lacking)


def test_an_entry_without_a_backward_is_not_covered_never_a_pass(monkeypatch):
    """Every configuration and the symbolic check not covered: the result is n/a, not a pass, not a
    failure, and the reason is kept."""
    without_a_backward(monkeypatch)
    report = verify_training_entry(catalogue.get("stn"), samples=2)
    assert report.result == NOT_COVERED and not report.passed and not report.failed
    assert report.configs == 0 and report.not_covered == {NO_BACKWARD: 2}
    assert report.route == "-" and report.symbolic == "not covered: " + NO_BACKWARD


def test_some_configurations_not_covered_are_counted_apart(monkeypatch):
    right = training.forward_training_cost
    calls = []

    def first_not_covered(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise TrainingError("Program.example has no backward yet")
        return right(*args, **kwargs)

    monkeypatch.setattr(training, "forward_training_cost", first_not_covered)
    report = verify_training_entry(catalogue.get("se"), samples=3, symbolic=False)
    assert report.result == PASS and report.configs == 2
    assert report.not_covered == {"Program.example has no backward yet": 1}
    assert report.not_covered_text() == "1 config: Program.example has no backward yet"


def test_the_cli_reports_not_covered_and_exits_0(monkeypatch):
    without_a_backward(monkeypatch)
    result = run("verify", "se", "stn", "--mode", "train", "--samples", "1", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert {row["module"]: row["result"] for row in document["rows"]} == {"se": "pass", "stn": "n/a"}
    assert (document["passed"], document["failed"], document["not_covered"]) == (1, 0, 1)
    assert document["not_covered_modules"] == ["stn"]
    stn = document["rows"][1]
    assert stn["configs"] == 0 and stn["not_covered"] == [{"reason": NO_BACKWARD, "configs": 1}]


def test_the_columns_are_the_forward_verifys_plus_what_differs():
    forward = run("verify", "se", "--samples", "1", "--no-symbolic", "--format", "json")
    train = run("verify", "se", "--mode", "train", "--samples", "1", "--no-symbolic", "--format", "json")
    assert forward.exit_code == 0 and train.exit_code == 0, (forward.output, train.output)
    forward_columns = list(json.loads(forward.stdout)["rows"][0])
    train_columns = list(json.loads(train.stdout)["rows"][0])
    assert train_columns == forward_columns + ["differs", "not_covered"]


# -- where torch cannot trace symbolically: drawn sizes ------------------------------------------------------

def _not_traceable(monkeypatch):
    """SE as if torch could not trace it on symbolic sizes (real cases: tests marked slow below)."""
    monkeypatch.setattr(training, "check_training_symbolic",
                        lambda entry, shape, hp: NOT_APPLICABLE + "a reason of torch's")


def test_the_fallback_checks_the_symbolic_formula_at_drawn_sizes(monkeypatch):
    _not_traceable(monkeypatch)
    report = verify_training_entry(catalogue.get("se"), samples=0)
    assert report.route == "sampled sizes" and report.result == PASS
    sizes = re.search(r"at N,H,W in \{(.*)\} \(checked, not proved\)", report.symbolic)
    assert sizes, report.symbolic
    assert len(sizes.group(1).split("; ")) == training.FALLBACK_SIZES
    assert report.symbolic.endswith("(symbolic trace not applicable: a reason of torch's)")


def test_the_fallback_catches_a_wrong_formula(monkeypatch):
    _not_traceable(monkeypatch)
    off_by_one(monkeypatch, "peak_elements")
    report = verify_training_entry(catalogue.get("se"), samples=0)
    assert report.result == FAIL
    assert re.match(r"FAILED: at N,H,W=\d+,\d+,\d+: peak_elements formula=(\d+) traced=(\d+)", report.symbolic)
    assert report.differs == {"peak_elements (symbolic)"}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["pan-gau", "pan-fpa"])
def test_an_entry_torch_cannot_trace_symbolically(name):
    """F.interpolate to a size takes only concrete sizes (tests/verify/test_symbolic_route.py)."""
    report = verify_training_entry(catalogue.get(name), samples=1)
    assert report.result == PASS, report.mismatches + [report.symbolic]
    assert report.route == "sampled sizes" and "(checked, not proved)" in report.symbolic
    assert "upsample_bilinear2d accepts only concrete sizes" in report.symbolic


# -- the symbolic route's own soundness ----------------------------------------------------------------------

def test_a_symbolic_step_unlike_the_real_one_proves_nothing():
    """Efficient attention on FakeTensors with SymInt sizes: torch's backward copies a different number
    of elements than its eager backward at the same sizes (the hint 2x16x9x11). The symbolic route is
    then not applicable and the drawn sizes check the formula against real steps instead."""
    report = verify_training_entry(catalogue.get("efficient-attention"), samples=0)
    assert report.route == "sampled sizes" and report.result == PASS, report.symbolic
    found = re.search(r"torch's symbolic step is not its real one: at the hint N,H,W=2,9,11 (.+) is (\d+) "
                      r"symbolically, (\d+) eagerly\)$", report.symbolic)
    assert found and found.group(2) != found.group(3), report.symbolic
    assert report.symbolic.startswith("symbolic formula = trace at N,H,W in {")


def test_maxima_differing_in_form_are_compared_at_sizes(monkeypatch):
    """A formula peak with one argument more, 10**12 * (2 - H), larger than every other only at H = 1:
    the two maxima differ in form and at H = 1, where the check must find it."""
    right = training.forward_training_cost

    def wider(*args, **kwargs):
        import sympy

        from attncost.symbols import H

        cost = right(*args, **kwargs)
        if not isinstance(cost.peak_elements, sympy.Max):
            return cost
        return dataclasses.replace(cost, peak_elements=sympy.Max(*cost.peak_elements.args, 10**12 * (2 - H)))

    monkeypatch.setattr(training, "forward_training_cost", wider)
    report = verify_training_entry(catalogue.get("se"), samples=0)
    assert report.result == FAIL
    assert re.match(r"FAILED: at N=\d,H=1,W=\d+: peak_elements formula=\d+ traced=\d+$", report.symbolic), \
        report.symbolic


def test_maxima_equal_at_every_size_are_reported_checked_not_proved(monkeypatch):
    """The same with an argument that never wins, 40 N H W + 58: SE's peak (C = 16) has the arguments
    48 N H W + 49 and 16 N H W + 33 N + 49; at N H W = 1 the second is 98 >= 98, at N H W >= 2 the
    first exceeds it by 8 N H W - 9 > 0. Equal everywhere, but not by comparing arguments (sympy keeps
    all three): the verdict says which field was only checked."""
    right = training.forward_training_cost

    def wider(*args, **kwargs):
        import sympy

        from attncost.symbols import H, N, W

        cost = right(*args, **kwargs)
        if not isinstance(cost.peak_elements, sympy.Max):
            return cost
        peak = sympy.Max(*cost.peak_elements.args, 40 * N * H * W + 58)
        return dataclasses.replace(cost, peak_elements=peak)

    monkeypatch.setattr(training, "forward_training_cost", wider)
    report = verify_training_entry(catalogue.get("se"), samples=0)
    assert report.result == PASS, report.symbolic
    assert report.symbolic.startswith("proved in N,H,W except peak_elements: maxima different in form, equal at ")
    assert report.symbolic.endswith("(N<=4, H<=16, W<=16; checked, not proved)")


@pytest.mark.slow
def test_vit_layer_is_proved():
    """ViT's layer: proved in N, H, W, peak included. (Its traced peak kept an argument the formula
    side's maximum lacked until the training layouts on symbolic sizes were decided for generic sizes,
    ``cost/iterator_layout.py``; the "maxima different in form" verdict is tested above.)"""
    report = verify_training_entry(catalogue.get("vit-layer"), samples=1)
    assert report.result == PASS, report.mismatches + [report.symbolic]
    assert report.symbolic == "proved in N,H,W"
