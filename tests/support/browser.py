"""A real headless Chromium driven over the Chrome DevTools Protocol, for browser tests.

The protocol runs over a pipe (``--remote-debugging-pipe``: Chromium reads commands on fd 3 and
writes replies on fd 4, each a JSON message ended by a NUL byte), so no WebDriver, no websocket
library and no network port are needed. Input goes through the protocol's Input domain (real
mouse clicks at an element's centre, real key presses and typed text), so focus order, form
submission and click handlers behave as they do for a person.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium")
_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--remote-debugging-pipe",
)
# Waiting limits (a page that never shows what a test waits for fails the test); not measurements.
COMMAND_TIMEOUT = 60.0
WAIT_TIMEOUT = 60.0


class BrowserError(RuntimeError):
    pass


class Browser:
    """One Chromium process with a fresh profile under ``profile``; ``page()`` opens a tab."""

    def __init__(self, profile: Path, *, chromium: str | None = None) -> None:
        binary = chromium or CHROMIUM
        if binary is None:
            raise BrowserError("chromium is not installed (`make browser`)")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # bash puts the pipe ends at fds 3 and 4 (dash takes no fd above 9; no preexec_fn: the test
        # process has threads).
        self._log = (profile.parent / f"{profile.name}.chromium.log").open("wb")
        self.process = subprocess.Popen(
            [
                "/bin/bash",
                "-c",
                f'exec "$0" "$@" 3<&{to_chrome_r} 4>&{from_chrome_w}',
                binary,
                *_ARGS,
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            pass_fds=(to_chrome_r, from_chrome_w),
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next_id = 0
        self._lock = threading.Lock()
        self._replies: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buffer = b""
        while True:
            chunk = os.read(self._from_chrome, 65536)
            if not chunk:
                break
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                waiting = self._replies.get(message.get("id", -1))
                if waiting is not None:
                    waiting.put(message)

    def send(
        self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None
    ) -> dict[str, Any]:
        with self._lock:
            self._next_id += 1
            ident = self._next_id
            box: queue.Queue[dict[str, Any]] = queue.Queue()
            self._replies[ident] = box
            message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
            if session:
                message["sessionId"] = session
            os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        try:
            reply = box.get(timeout=COMMAND_TIMEOUT)
        except queue.Empty:
            raise BrowserError(f"no reply to {method}") from None
        finally:
            self._replies.pop(ident, None)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    def page(self, width: int = 1280, height: int = 900) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        page.send("Page.enable")
        page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        return page

    def close(self) -> None:
        with contextlib.suppress(BrowserError):
            self.send("Browser.close")
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)
        self._log.close()


class Page:
    """One tab: navigate, read the page with JavaScript, click, type, press keys, screenshot."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, session=self.session)

    def goto(self, url: str) -> None:
        reply = self.send("Page.navigate", {"url": url})
        if reply.get("errorText"):
            raise BrowserError(f"{url}: {reply['errorText']}")
        self.wait_for("document.readyState === 'complete'")

    def evaluate(self, expression: str) -> Any:
        reply = self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}
        )
        if "exceptionDetails" in reply:
            raise BrowserError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def wait_for(self, expression: str, timeout: float = WAIT_TIMEOUT) -> Any:
        """The first truthy value of ``expression``, polled until ``timeout`` seconds have passed."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(
                    f"still falsy after {timeout}s: {expression}\n"
                    + str(self.evaluate("document.body && document.body.innerText"))
                )
            time.sleep(0.1)

    def text(self, selector: str) -> str:
        return str(self.evaluate(f"document.querySelector({json.dumps(selector)})?.innerText ?? ''"))

    def visible(self, selector: str) -> bool:
        return bool(
            self.evaluate(
                f"(e => !!e && !e.closest('[hidden]') && e.getClientRects().length > 0)"
                f"(document.querySelector({json.dumps(selector)}))"
            )
        )

    def click(self, selector: str) -> None:
        """A real left click at the centre of the element (scrolled into view first)."""
        box = self.evaluate(
            f"(e => {{ if (!e) return null; e.scrollIntoView({{block: 'center'}});"
            f" const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})"
            f"(document.querySelector({json.dumps(selector)}))"
        )
        if not box:
            raise BrowserError(f"nothing to click at {selector}")
        x, y = box
        for kind in ("mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}
            )

    def type(self, text: str) -> None:
        """Text typed into the focused element."""
        self.send("Input.insertText", {"text": text})

    def press(self, key: str) -> None:
        """One key press: "Tab" moves focus, "Enter" submits a form or presses a focused button."""
        codes = {"Tab": 9, "Enter": 13}
        down: dict[str, Any] = {
            "type": "rawKeyDown",
            "key": key,
            "code": key,
            "windowsVirtualKeyCode": codes[key],
        }
        self.send("Input.dispatchKeyEvent", down)
        if key == "Enter":
            self.send("Input.dispatchKeyEvent", {"type": "char", "key": key, "text": "\r"})
        self.send("Input.dispatchKeyEvent", {**down, "type": "keyUp"})

    def advance_clock(self, seconds: float) -> None:
        """Let the page's clock and timers run ``seconds`` ahead (virtual time: a timer set for
        later fires now), pausing while a fetch is under way so that its reply is seen."""
        self.send(
            "Emulation.setVirtualTimePolicy",
            {"policy": "pauseIfNetworkFetchesPending", "budget": seconds * 1000},
        )

    def focused(self) -> str:
        """The focused element's id (or its tag name when it has none)."""
        return str(self.evaluate("(e => e.id || e.tagName.toLowerCase())(document.activeElement)"))

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path
