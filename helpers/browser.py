"""Headless Chromium, driven through the Chrome DevTools protocol over a pipe (no network port, no
extra package): open a page at a window size, evaluate JavaScript, press keys, print to PDF.

Used by ``helpers.slides`` (the deck's fit check and its PDF) and by tests/test_slides.py. Debian's
``chromium`` (``make setup`` installs it where apt-get runs as root) or any Chrome on the PATH.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path


def chromium() -> str | None:
    """The headless browser's path, or None."""
    return next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)


def chromium_command(browser: str, profile_dir: str, *args: str) -> list[str]:
    """Headless, sandbox-free (root in containers), no network side traffic, a fresh profile."""
    return [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", f"--user-data-dir={profile_dir}", *args]


class BrowserError(RuntimeError):
    pass


class Page:
    """One browser with one page: ``with Page() as page: page.open(url, 1280, 720); page.evaluate(...)``.

    Chromium reads protocol messages from its fd 3 and writes answers to its fd 4, each a JSON text
    ended by a NUL byte (``--remote-debugging-pipe``)."""

    def __init__(self, timeout: float = 60):
        browser = chromium()
        if browser is None:
            raise BrowserError("no chromium on this machine (apt-get install chromium)")
        self.timeout, self._id, self._buffer, self._events = timeout, 0, b"", []
        self._profile = tempfile.TemporaryDirectory()
        to_browser, self._send_fd = os.pipe()
        self._recv_fd, from_browser = os.pipe()
        # Above 4, so that placing them at 3 and 4 in the child cannot overwrite one with the other.
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_browser, from_browser)]
        for fd in (to_browser, from_browser):
            os.close(fd)

        def place():
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self._proc = subprocess.Popen(chromium_command(browser, self._profile.name, "--remote-debugging-pipe"),
                                      pass_fds=(3, 4), preexec_fn=place,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for fd in high:
            os.close(fd)
        try:
            target = self.send("Target.createTarget", url="about:blank")["targetId"]
            self._session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            self.send("Page.enable", session=True)
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self._proc.poll() is None:
            try:
                self.send("Browser.close")
            except (BrowserError, OSError):
                pass
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for fd in (self._send_fd, self._recv_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        self._profile.cleanup()

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._recv_fd], [], [], left)[0]:
                raise BrowserError(f"chromium did not answer within {self.timeout} s")
            chunk = os.read(self._recv_fd, 1 << 20)
            if not chunk:
                raise BrowserError("chromium closed the protocol pipe (it crashed or could not start)")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, session: bool = False, **params):
        """Send one command and return its result (events that arrive meanwhile are kept)."""
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session
        os.write(self._send_fd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._read(deadline)
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error'].get('message')}")
                return answer.get("result", {})
            self._events.append(answer)

    def wait_for(self, event: str) -> dict:
        deadline = time.monotonic() + self.timeout
        while True:
            for k, e in enumerate(self._events):
                if e.get("method") == event:
                    return self._events.pop(k)
            self._events.append(self._read(deadline))

    def open(self, url: str, width: int, height: int) -> None:
        """Load ``url`` in a window of width x height CSS pixels and wait for its load event."""
        self.resize(width, height)
        self._events.clear()
        self.send("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired")

    def resize(self, width: int, height: int) -> None:
        self.send("Emulation.setDeviceMetricsOverride", session=True, width=width, height=height,
                  deviceScaleFactor=1, mobile=False)

    def evaluate(self, expression: str):
        """The value of a JavaScript expression (a promise is awaited), as JSON-able data."""
        result = self.send("Runtime.evaluate", session=True, expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"JavaScript error: {result['exceptionDetails'].get('exception', {}).get('description')}")
        return result["result"].get("value")

    def press(self, key: str) -> None:
        """A real key press (down and up), as a keyboard sends it: 'ArrowRight', 'n', ..."""
        codes = {"ArrowRight": 39, "ArrowLeft": 37, "Home": 36, "End": 35, " ": 32, "Enter": 13}
        info = dict(key=key, windowsVirtualKeyCode=codes.get(key, ord(key.upper()[0])))
        if len(key) == 1:
            info["text"] = key
        self.send("Input.dispatchKeyEvent", session=True, type="keyDown", **info)
        self.send("Input.dispatchKeyEvent", session=True, type="keyUp", **{k: v for k, v in info.items() if k != "text"})

    def screenshot(self, path) -> Path:
        """The page as it shows now, as a PNG."""
        data = self.send("Page.captureScreenshot", session=True, format="png")["data"]
        path = Path(path)
        path.write_bytes(base64.b64decode(data))
        return path

    def pdf(self, path) -> Path:
        """Print the page to ``path`` with its own CSS page size, backgrounds included."""
        data = self.send("Page.printToPDF", session=True, preferCSSPageSize=True, printBackground=True)["data"]
        path = Path(path)
        path.write_bytes(base64.b64decode(data))
        return path


def pdf_pages(path) -> int:
    """The number of pages of a PDF that Chromium wrote (its page objects, /Type /Page)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", Path(path).read_bytes()))
