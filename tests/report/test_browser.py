"""The shipped example report, rendered by the CLI and opened in headless chromium: every chart drew
its SVG, every formula is MathML that the browser laid out, nothing was fetched, a screenshot is saved."""

from pathlib import Path

from click.testing import CliRunner

from attncost.cli.main import cli

from . import chromium

EXAMPLE = Path(__file__).parents[2] / "specs" / "attention-review.yaml"


def test_example_report_renders_in_chromium(tmp_path):
    page = tmp_path / "attention-review.html"
    result = CliRunner().invoke(cli, ["report", str(EXAMPLE), "-o", str(page)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    html = page.read_text()
    expected_figures = html.count('class="plotly-graph-div"')
    # 2 sweeps + 4 shapes x (op kinds + memory) + 10 network sunbursts
    assert expected_figures == 2 + 4 * 2 + 10

    seen = chromium.inspect(page, tmp_path)
    assert len(seen["figures"]) == expected_figures
    for figure in seen["figures"]:
        assert figure["svg"] and figure["width"] > 100 and figure["traces"] > 0, figure
    # 9 modules x 6 quantities x (formula + dominant term), all MathML with a laid-out box
    assert len(seen["maths"]) == 9 * 6 * 2
    assert all(m["mathml"] and m["width"] > 0 for m in seen["maths"])

    shot, netlog = tmp_path / "report.png", tmp_path / "netlog.json"
    chromium.screenshot(page, shot, tmp_path, netlog)
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
