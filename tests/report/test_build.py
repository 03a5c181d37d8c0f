"""What a report page holds: escaped text, deterministic bytes, numbers that agree with
independent derivations, crossings that agree with brute force, and no external references."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from attncost import catalogue
from attncost.cost import Convention, flops
from attncost.report import build_report, load_report_spec, spec_from_options
from attncost.report.latency import lut_matrix

EVIL = "<script>window.__pwned=1</script>"


def _spec(tmp_path, text, name="r.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return load_report_spec(path)


def test_user_strings_are_escaped(tmp_path):
    spec = _spec(tmp_path, f"title: '{EVIL} review'\n"
                           f"modules: [{{module: se, alias: '{EVIL}'}}, {{module: eca, alias: '<img src=x onerror=alert(1)>'}}]\n"
                           f"shapes: [64x8x8]\n"
                           f"networks: [{{network: resnet18, alias: '<b>net</b>'}}]\n")
    page = build_report(spec)
    assert EVIL not in page and "<img src=x" not in page and "<b>net</b>" not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page       # shown as text in HTML
    # inside figure data the escaped label is JSON-encoded with < and > as \u003c / \u003e
    assert "\\u0026lt;script\\u0026gt;" in page


def test_output_is_deterministic(tmp_path):
    spec = spec_from_options(["se", "nonlocal"], [(1, 128, 16, 16)], "macs", ["resnet18"])
    assert build_report(spec) == build_report(spec)


def test_no_external_references(tmp_path):
    """The page's own markup has no remote src/href/url (the embedded plotly bundle has attribution
    links for map tiles it never loads here; test_browser checks that nothing is requested)."""
    page = build_report(spec_from_options(["cbam"], [(1, 64, 8, 8)]))
    from plotly.offline import get_plotlyjs

    assert page.count(get_plotlyjs()) == 1
    page = page.replace(get_plotlyjs(), "")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?https?:", page, re.I)
    # plotly once, the page's runtime (drawing, the toggles, print sizing) once, one per figure
    assert page.count("<script") == 2 + page.count('class="plotly-graph-div"')


def test_summary_numbers_match_hand_derivation(tmp_path):
    page = build_report(spec_from_options(["se", "eca"], [(1, 256, 56, 56)], "macs"))
    summary = page.split('id="summary"')[1].split("</table>")[0]
    # human units shown, the exact integer in the title (hover)
    # SE at C=256, r=16: FC 256->16 and 16->256 with biases = 2*256*16 + 16 + 256 params, 8192 MACs
    assert '<td class="text">se</td><td title="8,464">8.464 K</td><td title="8,192">8.192 K</td>' in summary
    # ECA at C=256: k = |log2(256)/2 + 1/2|_odd = 5 weights, 5 MACs per channel
    assert '<td class="text">eca</td><td title="5">5</td><td title="1,280">1.280 K</td>' in summary
    # memory: SE's peak is input + output, 2 * 256*56*56 * 4 bytes (+ the pooled 256 and 16 floats)
    assert '<td title="6,423,552 bytes">6.126 MiB</td>' in summary


def _cells(html_table):
    """(shown, title) of every cell of a table that has a title."""
    return re.findall(r'<td[^>]* title="([^"]*)"[^>]*>([^<]*)</td>', html_table)


def test_every_number_shows_human_units_with_the_exact_value_on_hover(tmp_path):
    from attncost.format.units import human_bytes, human_count, ratio

    spec = _spec(tmp_path, "convention: [macs, full]\nmodules: [se, cbam, nonlocal]\nshapes: [256x56x56]\n"
                           "networks: [resnet50-v1, {network: resnet50-v1, alias: CBAM, attention: {module: cbam}}]\n")
    page = build_report(spec)
    for section in ("summary", "networks"):
        body = page.split(f'id="{section}"')[1].split("</section>")[0]
        numeric = re.findall(r"<td(?! class=\"text\")([^>]*)>", body)
        assert numeric and all("title=" in attrs for attrs in numeric), section     # every number has its exact value
        for title, shown in _cells(body):
            exact = title.removesuffix(" bytes").removesuffix("%")
            if title.endswith(" bytes"):
                value = int(exact.replace(",", ""))
                assert shown == ("+" if exact.startswith("+") and value > 0 else "") + human_bytes(value)
            elif title.endswith("%"):
                assert shown.endswith("%")
            elif "," in exact or exact.lstrip("+-").isdigit():
                value = int(exact.replace(",", ""))
                assert shown == ("+" if exact.startswith("+") and value > 0 else "") + human_count(value)
            else:
                assert shown == ratio(float(exact))


def test_sweep_crossings_agree_with_brute_force(tmp_path):
    """The marked crossing of Non-local and CCNet at C=256 is where brute-force evaluation of both
    modules' MACs, size by size, changes sign."""
    spec = _spec(tmp_path, "modules: [nonlocal, ccnet]\nshapes: [256x8x8]\nsweep: {channels: [256], range: [8, 80]}\n")
    page = build_report(spec)
    nonlocal_, ccnet = catalogue.get("nonlocal"), catalogue.get("ccnet")
    diff = [int(nonlocal_.cost((1, 256, h, h)).macs) - int(ccnet.cost((1, 256, h, h)).macs) for h in range(8, 81)]
    flips = [h for h, (a, b) in zip(range(9, 81), zip(diff, diff[1:])) if np.sign(a) != np.sign(b) and b != 0]
    assert flips == [34]
    sweep = page.split('id="sweep"')[1]
    assert "<td class=\"text\">nonlocal / ccnet</td><td>34</td><td class=\"text\">ccnet</td>" in sweep
    root = float(re.search(r"root ([0-9.]+) of the floor-free equality", sweep).group(1))
    assert 33 < root <= 34                  # the real crossing lies between the last size on each side


def _figures(page):
    return [json.loads(m.replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&"))
            for m in re.findall(r"var f=(\{.*?\});attncost\.plot\(", page)]


def test_op_kind_bars_sum_to_full_flops(tmp_path):
    """Each module's stacked bar adds up to its FLOPs under the full convention."""
    page = build_report(spec_from_options(["cbam", "mhsa"], [(1, 64, 16, 16)], "full"))
    bars = [f for f in _figures(page) if f["layout"].get("barmode") == "stack"][0]
    totals = np.sum([trace["y"] for trace in bars["data"]], axis=0)
    assert list(totals) == [int(flops(catalogue.get(m).cost((1, 64, 16, 16)), Convention.FULL)) for m in ("cbam", "mhsa")]


def test_sunburst_root_is_the_network_total(tmp_path):
    spec = _spec(tmp_path, "convention: macs\nnetworks: [{network: resnet18, attention: {module: se}}]\n")
    page = build_report(spec)
    sun = [f for f in _figures(page) if f["data"][0]["type"] == "sunburst"][0]["data"][0]
    roots = [v for v, p in zip(sun["values"], sun["parents"]) if p == ""]
    # ResNet-18 at 224: 1,814,073,344 MACs (fvcore's and torchvision's 1.81 G); SE (r=16) adds its two FCs,
    # 2*C*C/16 MACs, in each of the 8 basic blocks
    se_macs = sum(2 * c * c // 16 for c in (64, 64, 128, 128, 256, 256, 512, 512))
    assert sum(roots) == 1_814_073_344 + se_macs


def test_latency_heatmap_and_measurements(tmp_path):
    lut = tmp_path / "lut.json"
    lut.write_text(json.dumps({"1": {"0": 0.5, "1": 0.9, "2": 0.7, "3": 1.2}, "0": {"0": 0.3, "1": 0.4}}))
    measured = tmp_path / "measured.json"
    measured.write_text(json.dumps([{"name": "a", "predicted_ms": 10.0, "measured_ms": 11.0},
                                    {"name": "b", "predicted_ms": 20.0, "measured_ms": 19.0}]))
    spec = _spec(tmp_path, "modules: [se]\nshapes: [64x8x8]\nlatency: {lut: lut.json, measurements: measured.json}\n")
    assert lut_matrix(lut) == (["0", "1"], ["0", "1", "2", "3"], [[0.3, 0.4, None, None], [0.5, 0.9, 0.7, 1.2]])
    page = build_report(spec)
    heatmap = [f for f in _figures(page) if f["data"][0]["type"] == "heatmap"][0]["data"][0]
    assert heatmap["z"] == [[0.3, 0.4, None, None], [0.5, 0.9, 0.7, 1.2]]
    latency = page.split('id="latency"')[1]
    # MAPE of |10-11|/11 and |20-19|/19
    assert f"{100 * (1 / 11 + 1 / 19) / 2:.2f}%" in latency


def test_bad_lut_file_is_a_clear_error(tmp_path):
    from attncost.errors import SpecError

    lut = tmp_path / "lut.json"
    lut.write_text('{"0": {"0": 0.3, "1": ')
    with pytest.raises(SpecError, match=r"not a complete JSON file \(truncated"):
        lut_matrix(lut)


def test_attention_share_and_delta_against_the_first_network(tmp_path):
    spec = _spec(tmp_path, "networks:\n  - resnet50-v1\n  - {network: resnet50-v1, alias: CBAM, attention: {module: cbam}}\n")
    page = build_report(spec)
    table = page.split("Totals and attention share")[1].split("</table>")[0]
    # CBAM in each of the 16 bottlenecks (C = 256 x3, 512 x4, 1024 x6, 2048 x3): shared MLP C -> C/16 -> C
    # with biases, plus the 7x7 conv over [max; mean] (98 weights) and its BN (2)
    blocks = [256] * 3 + [512] * 4 + [1024] * 6 + [2048] * 3
    cbam_params = sum(2 * c * (c // 16) + c // 16 + c + 98 + 2 for c in blocks)
    assert cbam_params == 2_532_592
    rows = re.findall(r"<tr>(.*?)</tr>", table)
    assert f'<td title="{cbam_params:,}">2.533 M</td>' in rows[-1]     # attention params
    assert f'<td title="+{cbam_params:,}">+2.533 M</td>' in rows[-1]   # Δ params
    assert '<td title="25,557,032">25.56 M</td>' in rows[1]          # torchvision's ResNet-50 params
    # the verdict says the same, in words, against the first network
    verdict = page.split('id="verdict"')[1].split("</section>")[0]
    said = re.search(r'<li data-network="CBAM">(.*?)</li>', verdict).group(1)
    assert f'<span title="+{cbam_params:,}">+2.533 M params (+{100 * cbam_params / 25_557_032:.3g}%)</span>' in said
    assert said.startswith("<b>CBAM</b> against resnet50-v1: ")
    # and the overhead chart: one bar per further network for each metric, in % of the first's
    overhead = [f for f in _figures(page) if f["layout"]["title"]["text"].startswith("What the attention adds")]
    assert len(overhead) == 1
    bars = {trace["name"]: trace for trace in overhead[0]["data"]}
    assert list(bars) == ["params", "MACs", "FLOPs (full)", "peak live memory"]   # the default convention
    assert bars["params"]["x"] == ["CBAM"] and bars["params"]["y"] == [100 * cbam_params / 25_557_032]


def test_sunbursts_sit_behind_a_closed_toggle(tmp_path):
    """The page draws one overhead chart for the networks (and the accuracy chart: torchvision reports
    ResNet-18's top-1); their sunbursts wait in a closed ``<details>`` (drawn when it opens)."""
    spec = _spec(tmp_path, "networks: [resnet18, {network: resnet18, attention: {module: se}}, "
                           "{network: resnet18, attention: {module: eca}}]\n")
    page = build_report(spec)
    networks = page.split('id="networks"')[1].split("</section>")[0]
    before, toggle = networks.split('<details class="toggle">')
    assert toggle.count('class="plotly-graph-div"') == 3 and before.count('class="plotly-graph-div"') == 2
    assert '"type": "sunburst"' not in before and toggle.count('"type": "sunburst"') == 3
    assert "<summary>" in toggle and "<details class=\"toggle\" open" not in page


def test_print_stylesheet_hides_the_toggles_and_breaks_pages(tmp_path):
    from attncost.report.page import STYLE

    page = build_report(spec_from_options(["se"], [(1, 64, 8, 8)]))
    assert STYLE in page and "@page { size: A4;" in STYLE
    printed = STYLE.split("@media print {", 1)[1]
    hidden = re.search(r"([^{}]*)\{ display: none !important; \}", printed).group(1)
    assert {s.strip() for s in hidden.split(",")} >= {"nav", "details.toggle", ".modebar-container",
                                                      ".updatemenu-container"}
    assert "section { break-before: page; }" in printed and "tr, li { break-inside: avoid; }" in printed
    assert 'window.addEventListener("beforeprint"' in page          # charts resized for A4 while printing


def _leaves(tree):
    if isinstance(tree, str):
        yield tree
    else:
        for branch in tree:
            yield from _leaves(branch)


@pytest.mark.parametrize("name", ["cbam", "bam", "nonlocal", "ccnet", "danet", "sk", "residual-attention"])
def test_wrapped_formulas_read_as_the_formula(name):
    """A long formula is printed as pieces the browser may break between (mathml.pieces); written in
    sympy's own syntax (the TEXT notation) and joined, the pieces parse back to the formula itself."""
    import sympy

    from attncost import query
    from attncost.report.mathml import TEXT, pieces, to_flow

    cost = catalogue.get(name).formula({})
    split = 0
    for leading in (False, True):
        for row in query.formula_rows(cost, Convention.FULL, leading=leading):
            expr = row["expression"]
            tree = pieces(expr, TEXT)
            text = "".join(_leaves(tree))
            assert sympy.simplify(eval(text, vars(sympy)) - expr) == 0, (row["quantity"], text)
            if isinstance(tree, list):
                split += 1
                assert to_flow(expr).startswith('<span class="mflow">')
            else:
                assert to_flow(expr).startswith("<math ") and to_flow(expr).count("<math ") == 1
    assert split                                                    # each of these has a formula that wraps


def test_heatmap_of_a_table_measured_by_lut_build(tmp_path):
    """A real (tiny) table in attncost's layout, measured by ``attncost lut build``: layers down,
    options and attention modules across, each cell the entry's median."""
    from click.testing import CliRunner

    from attncost.cli.main import cli

    space = Path(__file__).parents[2] / "specs" / "singlepath-tiny.yaml"
    lut = tmp_path / "tiny.json"
    result = CliRunner().invoke(cli, ["lut", "build", str(space), "-o", str(lut), "--repeats", "2", "--warmup", "1",
                                      "--calibrate-archs", "0"])
    assert result.exit_code == 0, result.output
    entries = json.loads(lut.read_text())["entries"]
    layers, columns, z = lut_matrix(lut)
    assert layers[0] == "stem" and layers[-1] == "head"
    assert z[layers.index("1")][columns.index("k5e6")] == entries["layer1:k5e6"]["median_ms"]
    assert z[layers.index("1")][columns.index("+cbam")] == entries["layer1+cbam"]["median_ms"]
    assert z[layers.index("stem")][columns.index("fixed")] == entries["stem"]["median_ms"]
    assert sum(v is not None for row in z for v in row) == len(entries)
    # and the end-to-end validation of that table: estimated versus measured, with the same MAPE as
    # 'lut validate' computed from the same measurements
    validation = tmp_path / "validation.json"
    result = CliRunner().invoke(cli, ["lut", "validate", str(lut), "--samples", "4", "--passes", "1", "--repeats", "1",
                                      "--calibrate-archs", "2", "--report", str(validation)])
    assert result.exit_code == 0, result.output
    spec = _spec(tmp_path, "modules: [se]\nshapes: [64x8x8]\nlatency: {lut: tiny.json, measurements: validation.json}\n")
    page = build_report(spec)
    assert '"type": "heatmap"' in page
    scatter = [f for f in _figures(page) if f["layout"].get("title", {}).get("text", "").startswith("Estimated")][0]
    assert [t["name"] for t in scatter["data"]] == ["lut", "lut calibrated", "predicted", "predicted calibrated",
                                                    "estimate = measured"]
    accuracy = json.loads(validation.read_text())["accuracy"]
    latency = page.split('id="latency"')[1]
    for label in ("lut", "predicted calibrated"):
        assert f'<td class="text">{label}</td><td>4</td><td class="text">{accuracy[label]["mape_pct"]:.2f}%</td>' in latency


# -- reported accuracy against cost ------------------------------------------------------------------------

def brute_force_front(points):
    """The points no other point dominates, by definition: a point is dominated when another point,
    different from it, costs at most as much and reports at least as much top-1."""
    return [not any(other != point and other[0] <= point[0] and other[1] >= point[1] for other in points)
            for point in points]


def test_pareto_front_is_the_undominated_points():
    from attncost.report.accuracy import pareto_front

    rng = np.random.default_rng(15)
    for _ in range(200):                      # small integers, so that ties in cost and in top-1 are common
        n = int(rng.integers(1, 9))
        costs, tops = rng.integers(1, 6, n).tolist(), rng.integers(70, 75, n).tolist()
        assert pareto_front(costs, tops) == brute_force_front(list(zip(costs, tops))), (costs, tops)
    assert pareto_front([4, 3, 3, 2], [76.1, 75.2, 75.2, 71.9]) == [True, True, True, True]   # equal points both
    assert pareto_front([2, 3], [75.0, 74.0]) == [True, False]


ACCURACY_SPEC = ("networks:\n  - mobilenet-v2\n  - resnet18\n  - {network: resnet18, alias: SE-ResNet-18, "
                 "attention: {module: se}}\n  - resnet34\n  - {network: resnet50-v1, alias: ResNet-50 v1}\n"
                 "  - {network: resnet50, alias: ResNet-50 v1.5}\n")


def test_accuracy_chart_plots_each_network_with_a_reported_top1(tmp_path):
    """One panel per cost (MACs, params, peak live memory): a labelled point for each network whose
    build a source reports, at attncost's count and the file's top-1, and the Pareto front through the
    points brute force finds undominated; the networks without a figure are named under the chart."""
    from attncost import api
    from attncost.networks.accuracy import reported_for

    spec = _spec(tmp_path, ACCURACY_SPEC)
    page = build_report(spec)
    charts = [f for f in _figures(page) if f["layout"]["title"]["text"].startswith("Reported top-1 against cost")]
    assert len(charts) == 1
    traces = charts[0]["data"]
    points = [t for t in traces if t["name"] == "networks"]
    fronts = [t for t in traces if t["name"] == "Pareto front"]
    assert len(points) == len(fronts) == 3
    with_data = [n for n in spec.networks if reported_for(n.spec, spec.network_input)]
    labels = [n.label for n in with_data]
    assert labels == ["mobilenet-v2", "resnet18", "resnet34", "ResNet-50 v1", "ResNet-50 v1.5"]
    totals = [api.network(n.spec.name, attn=None).totals for n in with_data]
    tops = [reported_for(n.spec, spec.network_input)[0].top1 for n in with_data]
    assert tops == [71.878, 69.758, 73.314, 75.20, 76.130]        # torchvision's acc@1; SENet Table 2's v1
    for trace, front, key in zip(points, fronts, ("macs", "params", "peak_bytes")):
        assert trace["text"] == labels and trace["y"] == tops
        assert trace["x"] == [t[key] for t in totals]
        on = brute_force_front(list(zip(trace["x"], tops)))
        assert sorted(front["x"]) == front["x"] == sorted(x for x, f in zip(trace["x"], on) if f)
        assert front["y"] == [y for _, y in sorted((x, y) for x, y, f in zip(trace["x"], tops, on) if f)]
    # by MACs ResNet-18 is beaten by MobileNetV2 (fewer MACs, higher top-1); by params ResNet-50 v1 too,
    # by v1.5 (the same 25,557,032 parameters, more top-1)
    macs_front = brute_force_front(list(zip(points[0]["x"], tops)))
    assert [label for label, f in zip(labels, macs_front) if not f] == ["resnet18"]
    params_front = brute_force_front(list(zip(points[1]["x"], tops)))
    assert [label for label, f in zip(labels, params_front) if not f] == ["resnet18", "ResNet-50 v1"]
    section = page.split('id="accuracy"')[1].split("</section>")[0]
    assert "No reported top-1 for these exact builds: SE-ResNet-18." in section
    assert "Hu et al., Squeeze-and-Excitation Networks" in section and "torchvision ResNet34_Weights" in section
    # the verdict names the MACs front, cheapest first, and the one off it
    verdict = page.split('id="verdict"')[1].split("</section>")[0]
    named = re.findall(r'<ul class="accuracy">(.*?)</ul>', verdict)[0]
    assert re.findall(r'data-network="([^"]*)"', named) == ["mobilenet-v2", "resnet34", "ResNet-50 v1",
                                                            "ResNet-50 v1.5"]
    assert "Off the front" in verdict and "<b class=\"module\">resnet18</b>" in verdict


def test_latency_panel_from_measurements_named_as_the_networks(tmp_path):
    measured = tmp_path / "measured.json"
    measured.write_text(json.dumps([{"name": "resnet18", "predicted_ms": 10.0, "measured_ms": 11.0},
                                    {"name": "ResNet-50 v1", "predicted_ms": 20.0, "measured_ms": 19.0},
                                    {"name": "mobilenet-v2", "predicted_ms": 5.0, "measured_ms": 6.5}]))
    spec = _spec(tmp_path, "networks:\n  - mobilenet-v2\n  - resnet18\n"
                           "  - {network: resnet50-v1, alias: ResNet-50 v1}\nlatency: {measurements: measured.json}\n")
    chart = [f for f in _figures(build_report(spec)) if f["layout"]["title"]["text"].startswith("Reported top-1")][0]
    points = [t for t in chart["data"] if t["name"] == "networks"]
    assert len(points) == 4 and points[3]["x"] == [6.5, 11.0, 19.0]
    # one network unmeasured: no latency panel (a panel shows every network or none)
    measured.write_text(json.dumps([{"name": "resnet18", "predicted_ms": 10.0, "measured_ms": 11.0}]))
    chart = [f for f in _figures(build_report(spec)) if f["layout"]["title"]["text"].startswith("Reported top-1")][0]
    assert len([t for t in chart["data"] if t["name"] == "networks"]) == 3


def test_no_accuracy_chart_without_a_reported_top1(tmp_path):
    spec = _spec(tmp_path, "networks: [{network: resnet18, attention: {module: se}}, "
                           "{network: resnet18, attention: {module: eca}}]\n")
    page = build_report(spec)
    assert 'id="accuracy"' not in page and not [
        f for f in _figures(page) if f["layout"]["title"]["text"].startswith("Reported top-1")]


def test_a_lookup_table_alone_gives_no_latency_panel_and_says_why(tmp_path):
    (tmp_path / "lut.json").write_text(json.dumps({"1": {"0": 0.5, "1": 0.9}, "0": {"0": 0.3, "1": 0.4}}))
    spec = _spec(tmp_path, "networks: [resnet18, mobilenet-v2]\nlatency: {lut: lut.json}\n")
    page = build_report(spec)
    chart = [f for f in _figures(page) if f["layout"]["title"]["text"].startswith("Reported top-1")][0]
    assert len([t for t in chart["data"] if t["name"] == "networks"]) == 3
    assert "No latency panel: the lookup table holds segments of its search space" in page
