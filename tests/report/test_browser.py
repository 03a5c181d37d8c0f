"""The shipped example report, rendered by the CLI and opened in headless chromium (driven over the
DevTools protocol, :class:`chromium.Browser`): every chart drew its SVG, every formula is MathML that
the browser laid out and no formula table overflows sideways at 1280 or 800 px, the verdict names
what the numbers say, the overhead chart has a bar per network, the sunbursts draw when their toggle
opens, the print stylesheet hides the controls and breaks pages on A4, and nothing was fetched."""

import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from attncost import api, catalogue
from attncost.cli.main import cli
from attncost.report import load_report_spec
from attncost.report.mathml import to_mathml
from attncost.report.page import STYLE, table
from attncost.shapes import format_shape

from . import chromium

EXAMPLE = Path(__file__).parents[2] / "specs" / "attention-review.yaml"
#: the figures drawn at once: 2 sweeps, 4 shapes x (op kinds + memory), the overhead and accuracy charts
SHOWN = 2 + 4 * 2 + 1 + 1

#: the first section's box, the sections' print breaks, what print hides
PRINT_STATE = """
(() => {
  const shown = (el) => getComputedStyle(el).display !== "none";
  return {
    breaks: Object.fromEntries(Array.from(document.querySelectorAll("section")).map(
      (s) => [s.id, getComputedStyle(s).breakBefore])),
    details: Array.from(document.querySelectorAll("details")).filter(shown).length,
    nav: Array.from(document.querySelectorAll("nav")).filter(shown).length,
    controls: Array.from(document.querySelectorAll(".modebar-container, .updatemenu-container")).filter(shown).length,
    rowBreaks: Array.from(document.querySelectorAll("tr")).filter(
      (tr) => getComputedStyle(tr).breakInside !== "avoid").length,
    tooWide: Array.from(document.querySelectorAll("table")).filter(
      (t) => t.getBoundingClientRect().right > document.body.getBoundingClientRect().right + 1).length,
  };
})()
"""


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """The example report as the CLI writes it, and one chromium for the tests of this module."""
    folder = tmp_path_factory.mktemp("report")
    page = folder / "attention-review.html"
    result = CliRunner().invoke(cli, ["report", str(EXAMPLE), "-o", str(page)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with chromium.Browser(folder / "profile") as browser:
        yield page, browser, folder


def test_example_report_renders_in_chromium(example):
    page, browser, folder = example
    html = page.read_text()
    networks = len(load_report_spec(EXAMPLE).networks)
    # 2 sweeps + 4 shapes x (op kinds + memory) + the networks' overhead chart + the accuracy chart + a
    # sunburst per network
    assert html.count('class="plotly-graph-div"') == 2 + 4 * 2 + 1 + 1 + networks
    browser.open(page, 1280)
    seen = browser.evaluate(chromium.INSPECT)
    assert seen["pwned"] is None
    shown = [f for f in seen["figures"] if not f["inDetails"]]
    hidden = [f for f in seen["figures"] if f["inDetails"]]
    assert len(shown) == SHOWN and len(hidden) == networks
    for figure in shown:
        assert figure["svg"] and figure["width"] > 100 and figure["traces"] > 0, figure
    # the sunbursts behind the closed toggle wait to be drawn until it opens
    assert not any(f["svg"] for f in hidden)
    assert sorted(browser.evaluate("attncost.pending()")) == sorted(f["id"] for f in hidden)
    # 9 modules x 6 quantities x (formula + dominant term), each one or more MathML pieces with a laid-out box
    cells = browser.evaluate("Array.from(document.querySelectorAll('table.formula td > div'))"
                             ".map((d) => d.querySelectorAll('math').length)")
    assert len(cells) == 9 * 6 * 2 and min(cells) >= 1
    assert len(seen["maths"]) == sum(cells)
    assert all(m["mathml"] and m["width"] > 0 for m in seen["maths"])


@pytest.mark.parametrize("width", [1280, 800])
def test_no_formula_table_scrolls_sideways(example, width):
    page, browser, folder = example
    browser.open(page, width)
    seen = browser.evaluate(chromium.FORMULA_OVERFLOW)
    assert seen["viewport"] == width and len(seen["tables"]) == 9
    for t in seen["tables"]:
        assert t["scrollWidth"] <= t["clientWidth"] and t["right"] <= t["parentRight"] + 1, t
        assert t["overflowing"] == [], t
    assert seen["pageScrollWidth"] <= seen["pageClientWidth"]          # and the page itself does not scroll
    browser.screenshot(folder / f"report-{width}.png")


def test_the_overflow_check_sees_a_formula_that_does_not_wrap(tmp_path):
    """Control for the check above: CBAM's peak as one ``<math>`` (how the report printed it before)
    in a formula table of the page's own style overflows its cell at 800 px."""
    peak = catalogue.get("cbam").formula({}).peak_live_elements
    rows = [{"quantity": "peak live", "formula": to_mathml(peak), "dominant term": to_mathml(peak)}]
    page = tmp_path / "unwrapped.html"
    page.write_text(f"<!DOCTYPE html><html><head><style>{STYLE}</style></head><body>"
                    + table(rows, ["quantity", "formula", "dominant term"], raw_columns=("formula", "dominant term"),
                            css_class="formula", widths=("14%", "56%", "30%")) + "</body></html>")
    with chromium.Browser(tmp_path / "profile") as browser:
        browser.open(page, 800)
        seen = browser.evaluate(chromium.FORMULA_OVERFLOW)
    assert seen["tables"][0]["overflowing"]


def _verdict_items(browser, kind):
    return browser.evaluate(f"Array.from(document.querySelectorAll('#verdict ul.{kind} > li'))"
                            ".map((li) => [li.dataset.shape || li.dataset.channels || li.dataset.network || '',"
                            " li.innerText])")


def test_verdict_names_the_cheapest_module_at_each_shape(example):
    """The verdict is the first section, and at each shape it names the module ``attncost.api.compare``
    finds cheapest in FLOPs under the spec's first convention (and the next one)."""
    page, browser, _ = example
    spec = load_report_spec(EXAMPLE)
    browser.open(page, 1280)
    assert browser.evaluate("document.querySelector('section').id") == "verdict"
    assert spec.convention.value in browser.evaluate("document.querySelector('#verdict h3').innerText")
    said = dict(_verdict_items(browser, "cheapest"))
    names = [m.name for m in spec.modules]
    assert [m.label for m in spec.modules] == names                   # the example has no aliases
    assert list(said) == [format_shape(s) for s in spec.shapes]
    for shape in spec.shapes:
        rows = sorted(api.compare(names, shape, convention=spec.convention), key=lambda r: r["flops"])
        assert rows[0]["flops"] < rows[1]["flops"]                      # no tie in the example
        text = said[format_shape(shape)]
        assert text.startswith(f"{format_shape(shape)}: {rows[0]['module']} is the cheapest"), text
        assert f"next {rows[1]['module']} (" in text and f"the most expensive {rows[-1]['module']} (" in text


def test_verdict_says_where_costs_cross(example):
    """Each sweep's line names the module cheapest at every size and every pair that crosses, as
    brute force over the sizes finds them from the catalogue's MACs."""
    page, browser, _ = example
    spec = load_report_spec(EXAMPLE)
    browser.open(page, 1280)
    said = dict(_verdict_items(browser, "crossings"))
    sizes = range(spec.sweep.lo, spec.sweep.hi + 1)
    for channels in spec.sweep.channels:
        macs = {m.name: np.array([int(catalogue.get(m.name).cost((1, channels, h, h), m.hp).macs) for h in sizes])
                for m in spec.modules}
        text = said[str(channels)]
        cheapest = {min(macs, key=lambda m: macs[m][i]) for i in range(len(sizes))}
        assert cheapest == {"eca"} and "eca is the cheapest at every size" in text
        crossings = []
        for i, a in enumerate(macs):
            for b in list(macs)[i + 1:]:
                sign = np.sign(macs[a] - macs[b])
                crossings += [(a, b, sizes[j + 1]) for j in range(len(sign) - 1)
                              if sign[j] != sign[j + 1] and sign[j + 1] != 0]
        assert crossings                                                # the example has some
        for a, b, h in crossings:
            assert f"{a} and {b} cross at H = W = {h}" in text, (a, b, h, text)
        assert text.count(" cross at ") == len(crossings)


def test_overhead_chart_has_a_bar_per_network(example):
    """One grouped-bar chart compares the networks with the first: per metric one bar for each network
    after the first, labelled with the networks' names, drawn as SVG. (The example's networks differ in
    more than attention, ResNeXt-50 and ECA-Net50's v1.5 layout among them, so it reads as the change
    against the first.)"""
    page, browser, _ = example
    spec = load_report_spec(EXAMPLE)
    browser.open(page, 1280)
    chart = browser.evaluate("""(() => {
      const div = Array.from(document.querySelectorAll('div.plotly-graph-div')).find(
        (d) => d.layout && d.layout.title && d.layout.title.text.startsWith('Change against ResNet-50'));
      return {id: div.id, traces: Array.from(div.querySelectorAll('g.trace.bars')).map(
                (t) => t.querySelectorAll('g.point path').length),
              names: div.data.map((t) => t.name),
              ticks: Array.from(div.querySelectorAll('g.xtick text')).map((t) => t.textContent),
              width: div.querySelector('svg.main-svg').getBoundingClientRect().width};
    })()""")
    labels = [n.label for n in spec.networks]
    assert chart["names"] == ["params", "MACs", "FLOPs (full)", "peak live memory"]
    assert chart["traces"] == [len(labels) - 1] * 4
    assert chart["ticks"] == labels[1:] and chart["width"] > 600


#: The accuracy-versus-cost chart as drawn: its traces' data, and per SVG scatter trace its text labels
#: (with their laid-out size), points and line.
ACCURACY_CHART = """
(() => {
  const div = Array.from(document.querySelectorAll('div.plotly-graph-div')).find(
    (d) => d.layout && d.layout.title && d.layout.title.text.startsWith('Reported top-1 against cost'));
  if (!div) { return null; }
  return {
    svg: !!div.querySelector('svg.main-svg'),
    data: div.data.map((t) => ({name: t.name, x: Array.from(t.x), y: Array.from(t.y)})),
    drawn: Array.from(div.querySelectorAll('g.trace.scatter')).map((g) => ({
      labels: Array.from(g.querySelectorAll('g.textpoint text')).map((t) => t.textContent),
      sizes: Array.from(g.querySelectorAll('g.textpoint text')).map((t) => {
        const box = t.getBoundingClientRect(); return [box.width, box.height]; }),
      points: g.querySelectorAll('path.point').length,
      lines: g.querySelectorAll('path.js-line').length})),
    axes: Array.from(div.querySelectorAll('g.g-xtitle text, g.g-x2title text, g.g-x3title text, g.g-x4title text'))
      .map((t) => t.textContent),
  };
})()
"""


def test_accuracy_chart_is_drawn_with_every_point_labelled(example):
    """The accuracy-versus-cost chart of the example: drawn as SVG, one panel per cost (MACs, params,
    peak memory; no latency without measurements), in each a text label laid out for every network of
    the page that has a reported top-1 (as many as the data file has for their builds) and a point for
    each, and the Pareto front a line through the points brute-force dominance leaves."""
    from attncost.networks.accuracy import reported_for

    page, browser, _ = example
    spec = load_report_spec(EXAMPLE)
    with_data = [n.label for n in spec.networks if reported_for(n.spec, spec.network_input)]
    assert {"ResNet-50", "SE-ResNet-50", "ECA-Net50", "CBAM-ResNet-50"} <= set(with_data)
    browser.open(page, 1280)
    chart = browser.evaluate(ACCURACY_CHART)
    assert chart is not None and chart["svg"]
    assert chart["axes"] == ["MACs", "params", "peak live memory (bytes)"]
    labelled = [t for t in chart["drawn"] if t["labels"]]
    assert len(labelled) == 3
    for trace in labelled:
        assert trace["labels"] == with_data and trace["points"] == len(with_data)
        assert all(width > 0 and height > 0 for width, height in trace["sizes"])
    assert sum(t["lines"] for t in chart["drawn"]) == 3                 # a front line in each panel
    points = [t for t in chart["data"] if t["name"] == "networks"]
    fronts = [t for t in chart["data"] if t["name"] == "Pareto front"]
    for trace, front in zip(points, fronts):
        pairs = list(zip(trace["x"], trace["y"]))
        undominated = [p for p in pairs if not any(q != p and q[0] <= p[0] and q[1] >= p[1] for q in pairs)]
        assert list(zip(front["x"], front["y"])) == sorted(undominated)


def test_sunbursts_draw_when_their_toggle_opens(example):
    page, browser, _ = example
    browser.open(page, 1280)
    assert browser.evaluate("document.querySelector('details.toggle').open") is False
    browser.evaluate("document.querySelector('details.toggle').open = true")
    browser.wait("Array.from(document.querySelectorAll('details.toggle div.plotly-graph-div'))"
                 ".every((d) => d.querySelector('svg.main-svg'))")
    browser.settle()
    sunbursts = browser.evaluate("""Array.from(document.querySelectorAll('details.toggle div.plotly-graph-div')).map(
      (d) => ({slices: d.querySelectorAll('g.slice').length, div: d.getBoundingClientRect().width,
               svg: d.querySelector('svg.main-svg').getBoundingClientRect().width}))""")
    assert len(sunbursts) == len(load_report_spec(EXAMPLE).networks)
    for s in sunbursts:                      # drawn at the width of the open page, not a hidden div's
        assert s["slices"] > 10 and abs(s["svg"] - s["div"]) <= 2, s
    assert browser.evaluate("attncost.pending()") == []


def test_print_stylesheet(example):
    """Printed (print media emulated): no toggles, navigation or chart controls, a page break before
    each section after the verdict, rows kept whole, every table within the A4 text width; printing
    sizes the charts for A4 and the PDF's pages are A4."""
    page, browser, folder = example
    browser.open(page, 1280)
    screen = browser.evaluate(PRINT_STATE)
    assert screen["details"] == 1 and screen["nav"] == 1 and screen["controls"] > 0
    browser.media("print")
    browser.width(681)                       # A4 less 15 mm margins at 96 px per inch: 180 mm
    browser.settle()
    printed = browser.evaluate(PRINT_STATE)
    assert printed["details"] == 0 and printed["nav"] == 0 and printed["controls"] == 0
    assert printed["breaks"] == {"verdict": "auto", **{key: "page" for key in list(printed["breaks"])[1:]}}
    assert len(printed["breaks"]) == 6 and printed["rowBreaks"] == 0 and printed["tooWide"] == 0
    browser.media("")
    browser.width(1280)
    browser.evaluate("window.__printWidths = null; window.addEventListener('beforeprint', () => {"
                     " window.__printWidths = Array.from(document.querySelectorAll('div.plotly-graph-div'))"
                     ".filter((d) => d.data).map((d) => d.querySelector('svg.main-svg').getAttribute('width')); })")
    pdf = browser.pdf()
    assert browser.evaluate("window.__printWidths") == ["680"] * SHOWN   # listeners run in order: after the resize
    boxes = [[float(v) for v in box.split()] for box in re.findall(rb"/MediaBox\s*\[([^\]]*)\]", pdf)]
    assert boxes and all(abs(w - 595.3) < 1 and abs(h - 841.9) < 1 for _, _, w, h in boxes), boxes  # A4, in pt
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 6               # one page or more per section
    (folder / "report.pdf").write_bytes(pdf)
    browser.wait("document.querySelector('#figure-1 svg.main-svg').getAttribute('width') !== '680'")


def test_nothing_is_fetched(example):
    page, browser, folder = example
    shot, netlog = folder / "report.png", folder / "netlog.json"
    chromium.screenshot(page, shot, folder, netlog)
    assert shot.exists() and shot.stat().st_size > 50_000
    external = [u for u in chromium.page_requests(netlog) if not u.startswith(("file:", "data:", "blob:"))]
    assert external == []


def test_the_request_check_sees_a_page_that_fetches(tmp_path):
    """Control for the check above: a page that loads an image and fetches must show both."""
    page = tmp_path / "fetching.html"
    page.write_text('<html><body><img src="http://example.invalid/a.png">'
                    '<script>fetch("https://example.invalid/b")</script></body></html>')
    netlog = tmp_path / "netlog.json"
    chromium.screenshot(page, tmp_path / "fetching.png", tmp_path, netlog)
    assert set(chromium.page_requests(netlog)) == {"http://example.invalid/a.png", "https://example.invalid/b"}
