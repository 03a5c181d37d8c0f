"""A user's model as formulas (one FakeTensor trace with symbolic sizes): evaluated at five shapes they
equal five real runs, every field; the CLI prints them and crossover takes user models."""

import json
import sys
from pathlib import Path

import pytest
import sympy
from click.testing import CliRunner

import attncost
from attncost.cli.main import cli
from attncost.cost.compare import differences
from attncost.crossings import crossover
from attncost.symbols import H, N, W, symbol

FIXTURES = Path(__file__).parents[1] / "fixtures"
ZOO = FIXTURES / "user_zoo.py"
sys.path.insert(0, str(FIXTURES))
import user_zoo as zoo  # noqa: E402

SHAPES = [(32, 32), (17, 33), (40, 24), (64, 8), (9, 9)]


def _at(cost, values):
    return cost.map(lambda e: sympy.sympify(e).subs(values))


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_formula_at_five_shapes_equals_five_real_runs(mode):
    model = zoo.NonLocalCNN()
    analysis = attncost.formula(model, "3xHxW", mode=mode)
    total = analysis.network.total
    assert total.free_symbols == {H, W} and analysis.specialised == {}
    assert analysis.hints == {H: 224, W: 224} and analysis.fake
    for h, w in SHAPES:
        real = attncost.analyze(model, (3, h, w), mode=mode, fake=False).network.total
        assert differences(real, _at(total, {H: h, W: w})) == [], (h, w)


def test_formula_in_the_batch_and_in_a_token_count():
    model = zoo.NonLocalCNN()
    batched = attncost.formula(model, (N, 3, H, W)).network.total
    assert batched.free_symbols == {N, H, W}
    for n, h, w in [(2, 16, 16), (3, 20, 12)]:
        real = attncost.analyze(model, (n, 3, h, w)).network.total
        assert differences(real, _at(batched, {N: n, H: h, W: w})) == []
    L = symbol("L")
    tokens = attncost.formula(zoo.Blocks(), [(2, L, zoo.DIM)], hints={"L": 50}).network.total
    assert tokens.free_symbols == {L}
    # the two blocks' attention maps: 2 x heads x L x L, the largest one kept
    assert sympy.expand(tokens.attention_map_elements - 2 * zoo.HEADS * L ** 2) == 0
    for length in (3, 7, 50, 64, 100):
        real = attncost.analyze(zoo.Blocks(), [(2, length, zoo.DIM)]).network.total
        assert differences(real, _at(tokens, {L: length})) == []


def test_formula_names_what_the_model_fixes():
    analysis = attncost.formula(zoo.FixedArea(), "1x2xHxW", hints={"H": 5, "W": 8})
    # neither size is fixed on its own, but the branch taken holds only where H*W = 40
    assert analysis.specialised == {} and analysis.equalities == [sympy.Eq(H * W, 40)]
    result = CliRunner().invoke(cli, ["formula", f"{ZOO}:build_fixed_area", "--shape", "1x2xHxW", "--hint", "H=5",
                                      "--hint", "W=8"])
    assert result.exit_code == 0 and "holds where: H*W = 40" in result.output
    result = CliRunner().invoke(cli, ["formula", f"{ZOO}:build_nonlocal", "--shape", "3xHxW"])
    assert "holds where" not in result.output          # no equality: valid at every size


def test_cli_formula_of_a_user_model_evaluates_to_real_runs():
    result = CliRunner().invoke(cli, ["formula", f"{ZOO}:build_nonlocal", "--shape", "3xHxW", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    rows = {row["quantity"]: sympy.sympify(row["expression"], locals={"H": H, "W": W}) for row in doc["rows"]}
    model = zoo.NonLocalCNN()
    for h, w in SHAPES:
        real = attncost.analyze(model, (3, h, w)).network.total
        assert rows["macs"].subs({H: h, W: w}) == real.macs
        assert rows["peak_live_elements"].subs({H: h, W: w}) == real.peak_live_elements
        assert rows["attention_map_elements"].subs({H: h, W: w}) == real.attention_map_elements
        assert rows["params"] == real.params
    leading = CliRunner().invoke(cli, ["formula", f"{ZOO}:build_nonlocal", "--shape", "3xHxW", "--leading"])
    # the two products of the Non-local block: 2 x (HW/16)^2 positions x 4 channels
    assert leading.exit_code == 0 and "H**2*W**2/32" in leading.output
    for bad in (["formula", f"{ZOO}:build_nonlocal"], ["formula", "se", "--shape", "3xHxW"],
                ["formula", f"{ZOO}:build_nonlocal", "--shape", "3xHxW", "--hint", "H=1"],
                ["formula", f"{ZOO}:build_nonlocal", "--shape", "3xHxW", "--hp", "r=4"]):
        result = CliRunner().invoke(cli, bad)
        assert result.exit_code == 2, (bad, result.output)


def test_crossover_takes_user_models_and_matches_brute_force():
    lo, hi = 4, 48
    result = crossover(f"{ZOO}:build_nonlocal", "nonlocal", (1, 3, H, W), "H=W", "macs", lo=lo, hi=hi)
    # brute force: the user model's real run and the catalogue Non-local's Program at every size
    from attncost import catalogue

    model, points, previous = zoo.NonLocalCNN(), [], None
    for t in range(lo, hi + 1):
        mine = attncost.analyze(model, (3, t, t)).network.total.macs
        difference = int(mine - catalogue.get("nonlocal").cost((1, 3, t, t)).macs)
        sign = (difference > 0) - (difference < 0)
        if sign and previous is not None and sign != previous:
            points.append(t)
        previous = sign or previous
    assert result.points == points and result.points


def test_crossover_cli_between_two_user_models():
    result = CliRunner().invoke(cli, ["crossover", f"{ZOO}:build_nonlocal", f"{ZOO}:build_plain_cnn", "--shape",
                                      "3xHxW", "--range", "4", "400", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["rows"]
    # the Non-local model is cheaper while its (HW/16)^2 products are small, the plain CNN after
    assert rows[0]["cheaper"].endswith("build_nonlocal") and rows[-1]["cheaper"].endswith("build_plain_cnn")
    crossing = rows[-1]["from"]
    nonlocal_model, plain = zoo.NonLocalCNN(), zoo.PlainCNN()
    for t, cheaper in ((crossing - 1, nonlocal_model), (crossing, plain)):
        costs = {m: attncost.analyze(m, (3, t, t), fake=True).network.total.macs for m in (nonlocal_model, plain)}
        assert min(costs, key=costs.get) is cheaper
