"""Headless Debian chromium for the report tests (installed by scripts/install-test-deps.sh).

The flags are those that keep chromium from reaching out on its own (background networking,
component updates, sync), so that the net log holds only what the page itself asked for.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--mute-audio"]

#: Appended to a copy of a report: after plotly has drawn, write what the page looks like into the DOM.
CHECK_SCRIPT = """
<script>
window.addEventListener("load", function () {
  setTimeout(function () {
    var figures = Array.from(document.querySelectorAll("div.plotly-graph-div")).map(function (div) {
      var svg = div.querySelector("svg.main-svg");
      return {id: div.id, svg: !!svg, width: svg ? svg.getBoundingClientRect().width : 0,
              traces: div.querySelectorAll("g.trace, g.slice, g.hm, g.point").length};
    });
    var maths = Array.from(document.querySelectorAll("math")).map(function (m) {
      return {mathml: (typeof MathMLElement !== "undefined") && m instanceof MathMLElement,
              width: m.getBoundingClientRect().width};
    });
    var pre = document.createElement("pre");
    pre.id = "attncost-check";
    pre.textContent = JSON.stringify({figures: figures, maths: maths, pwned: window.__pwned || null});
    document.body.appendChild(pre);
  }, 500);
});
</script>
"""


def chromium() -> str:
    path = shutil.which("chromium")
    assert path, "chromium is missing: run scripts/install-test-deps.sh (the README's test command does)"
    return path


def run(args: list, profile: Path, timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=timeout)


def inspect(page: Path, workdir: Path) -> dict:
    """Open a copy of ``page`` with CHECK_SCRIPT, let it render, and return what the script saw."""
    copy = workdir / "checked.html"
    copy.write_text(page.read_text().replace("</body>", CHECK_SCRIPT + "</body>"))
    result = run(["--virtual-time-budget=60000", "--dump-dom", copy.as_uri()], workdir / "profile-dom")
    marker = '<pre id="attncost-check">'
    assert marker in result.stdout, f"the check script did not run: {result.stderr[-2000:]}"
    text = result.stdout.split(marker, 1)[1].split("</pre>", 1)[0]
    return json.loads(text.replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


def screenshot(page: Path, target: Path, workdir: Path, netlog: Path | None = None) -> subprocess.CompletedProcess:
    extra = [f"--log-net-log={netlog}"] if netlog else []
    return run(["--window-size=1280,2400", "--virtual-time-budget=60000", f"--screenshot={target}", *extra,
                page.as_uri()], workdir / "profile-shot")


def page_requests(netlog: Path) -> list[str]:
    """The URLs the page asked for: requests whose network isolation key is the file:// page's
    (chromium's own requests, such as its clock check, carry other keys)."""
    log = json.loads(netlog.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log.get("events", []):
        params = event.get("params") or {}
        if event["type"] == start_job and "file://" in params.get("network_isolation_key", ""):
            urls.append(params["url"])
    return urls
