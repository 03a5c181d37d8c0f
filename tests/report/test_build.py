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
    assert page.count("<script") == 1 + page.count('class="plotly-graph-div"')   # plotly once + one per figure


def test_summary_numbers_match_hand_derivation(tmp_path):
    page = build_report(spec_from_options(["se", "eca"], [(1, 256, 56, 56)], "macs"))
    summary = page.split('id="summary"')[1].split("</table>")[0]
    # SE at C=256, r=16: FC 256->16 and 16->256 with biases = 2*256*16 + 16 + 256 params, 8192 MACs
    assert "<td class=\"text\">se</td><td>8,464</td><td>8,192</td>" in summary
    # ECA at C=256: k = |log2(256)/2 + 1/2|_odd = 5 weights, 5 MACs per channel
    assert "<td class=\"text\">eca</td><td>5</td><td>1,280</td>" in summary


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
            for m in re.findall(r"var f=(\{.*?\});Plotly\.newPlot", page)]


def test_op_kind_bars_sum_to_full_flops(tmp_path):
    """Each module's stacked bar adds up to its FLOPs under the full convention."""
    page = build_report(spec_from_options(["cbam", "mhsa"], [(1, 64, 16, 16)], "full"))
    bars = [f for f in _figures(page) if f["layout"].get("barmode") == "stack"][0]
    totals = np.sum([trace["y"] for trace in bars["data"]], axis=0)
    assert list(totals) == [int(flops(catalogue.get(m).cost((1, 64, 16, 16)), Convention.FULL)) for m in ("cbam", "mhsa")]


def test_sunburst_root_is_the_network_total(tmp_path):
    spec = _spec(tmp_path, "networks: [{network: resnet18, attention: {module: se}}]\n")
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
    assert f"<td>{cbam_params:,}</td>" in rows[-1]                      # attention params and Δ params
    assert rows[-1].count(f"<td>{cbam_params:,}</td>") == 2
    assert "<td>25,557,032</td>" in rows[1]                           # torchvision's ResNet-50 params


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
