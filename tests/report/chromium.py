"""Headless Debian chromium for the report tests (installed by scripts/install-test-deps.sh).

The flags are those that keep chromium from reaching out on its own (background networking,
component updates, sync), so that the net log holds only what the page itself asked for.

:class:`Browser` drives one chromium over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
fd 3 carries commands in, fd 4 replies out, NUL-terminated JSON), so that one process can load a
page, run scripts in it, change the viewport's width, emulate print media and print to PDF.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--mute-audio"]

#: What a page looks like once plotly has drawn: every figure's SVG and its traces, every formula.
INSPECT = """
(() => {
  const figures = Array.from(document.querySelectorAll("div.plotly-graph-div")).map((div) => {
    const svg = div.querySelector("svg.main-svg");
    return {id: div.id, svg: !!svg, width: svg ? svg.getBoundingClientRect().width : 0,
            traces: div.querySelectorAll("g.trace, g.slice, g.hm, g.point").length,
            inDetails: !!div.closest("details")};
  });
  const maths = Array.from(document.querySelectorAll("math")).map((m) => (
    {mathml: (typeof MathMLElement !== "undefined") && m instanceof MathMLElement,
     width: m.getBoundingClientRect().width}));
  return {figures, maths, pwned: window.__pwned || null};
})()
"""

#: Every formula table at the current width: does it, or any of its cells, overflow sideways?
FORMULA_OVERFLOW = """
(() => {
  const page = document.documentElement;
  const tables = Array.from(document.querySelectorAll("table.formula")).map((table) => {
    const box = table.getBoundingClientRect(), parent = table.parentElement.getBoundingClientRect();
    const cells = Array.from(table.querySelectorAll("td, td > div")).filter(
      (el) => el.scrollWidth > el.clientWidth + 1 ||
              el.getBoundingClientRect().right > el.closest("td").getBoundingClientRect().right + 1 ||
              Array.from(el.querySelectorAll("math")).some(
                (m) => m.getBoundingClientRect().right > el.closest("td").getBoundingClientRect().right + 1));
    return {heading: (table.previousElementSibling || {}).textContent || "", scrollWidth: table.scrollWidth,
            clientWidth: table.clientWidth, right: box.right, parentRight: parent.right,
            overflowing: cells.map((el) => el.textContent.slice(0, 60))};
  });
  return {viewport: window.innerWidth, pageScrollWidth: page.scrollWidth, pageClientWidth: page.clientWidth,
          tables};
})()
"""


def chromium() -> str:
    path = shutil.which("chromium")
    assert path, "chromium is missing: run scripts/install-test-deps.sh (the README's test command does)"
    return path


def run(args: list, profile: Path, timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=timeout)


class Browser:
    """One headless chromium driven over the DevTools protocol; a context manager.

    ``open(path, width)`` loads a file in its tab at that viewport width and waits until the
    page has loaded and plotly has drawn every figure that is not behind a closed ``<details>``;
    ``evaluate(js)`` gives a script's value; ``width(w)``, ``media("print")`` and ``pdf()`` change
    the viewport, emulate print media and print (``preferCSSPageSize``: the page's ``@page``)."""

    def __init__(self, profile: Path, timeout: float = 120):
        self.timeout = timeout
        to_chromium, self._to = os.pipe()
        self._from, from_chromium = os.pipe()

        def descriptors():                       # in the child: fd 3 reads commands, fd 4 writes replies
            os.dup2(to_chromium, 3)
            os.dup2(from_chromium, 4)

        self.process = subprocess.Popen([chromium(), *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}",
                                         "about:blank"], pass_fds=(3, 4), preexec_fn=descriptors,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chromium)
        os.close(from_chromium)
        self._buffer = b""
        self._id = 0
        self.session = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        for fd in (self._to, self._from):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def send(self, method: str, params: dict | None = None, session: bool = True) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            while b"\0" not in self._buffer:
                left = deadline - time.monotonic()
                ready = select.select([self._from], [], [], max(left, 0))[0] if left > 0 else []
                assert ready, f"chromium did not answer {method} in {self.timeout} s"
                chunk = os.read(self._from, 1 << 20)
                assert chunk, f"chromium closed the pipe during {method}"
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._id:
                assert "error" not in reply, f"{method}: {reply['error']}"
                return reply.get("result", {})

    def open(self, page: Path, width: int = 1280, height: int = 900) -> None:
        if self.session is None:
            target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
            self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True},
                                     session=False)["sessionId"]
        self.width(width, height)
        self.send("Page.navigate", {"url": Path(page).resolve().as_uri()})
        self.wait("document.readyState === 'complete' && "
                  "Array.from(document.querySelectorAll('div.plotly-graph-div'))"
                  ".filter((d) => !d.closest('details:not([open])'))"
                  ".every((d) => d.querySelector('svg.main-svg'))")

    def evaluate(self, expression: str, await_promise: bool = False):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": await_promise})
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def wait(self, condition: str, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.evaluate(f"!!({condition})"):
            assert time.monotonic() < deadline, f"timed out waiting for {condition}"
            time.sleep(0.1)

    def settle(self) -> None:
        """Two animation frames: layout and plotly's resize handlers have run."""
        self.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))",
                      await_promise=True)

    def width(self, width: int, height: int = 900) -> None:
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                         "mobile": False})

    def media(self, media: str) -> None:
        self.send("Emulation.setEmulatedMedia", {"media": media})

    def pdf(self) -> bytes:
        data = self.send("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True})["data"]
        return base64.b64decode(data)

    def screenshot(self, target: Path, full_page: bool = True) -> None:
        params = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            size = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params["clip"] = {"x": 0, "y": 0, "width": size[0], "height": min(size[1], 16000), "scale": 1}
        Path(target).write_bytes(base64.b64decode(self.send("Page.captureScreenshot", params)["data"]))


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
