#!/usr/bin/env python3
"""The web interface as a person uses it, in headless Chromium (Debian's `chromium` and
`chromium-driver`, driven over the W3C WebDriver protocol with the standard library):

  1. slipstream analyses testdata/slips/test7-malicious.pcap;
  2. `slipstream view OUT/` serves it;
  3. the browser opens the profiles page, clicks the alerted profile, its alerted time
     window, the Alerts tab and the alert, checking what each page shows;
  4. a screenshot of each step is kept in target/ui-artifacts/ (override: ARTIFACTS).

Every address used is on 127.0.0.1; Chromium is told to resolve nothing else.
Exit status 0 when every check passed.
"""

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("SLIPSTREAM", os.path.join(ROOT, "target", "release", "slipstream"))
ARTIFACTS = os.environ.get("ARTIFACTS", os.path.join(ROOT, "target", "ui-artifacts"))
PCAP = os.path.join(ROOT, "testdata", "slips", "test7-malicious.pcap")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
TIMEOUT = 30.0

checks = 0


def check(condition, what):
    global checks
    checks += 1
    if not condition:
        raise AssertionError(what)
    print(f"ok: {what}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url):
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.status
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} never answered")
            time.sleep(0.2)


class Browser:
    """A WebDriver session in headless Chromium."""

    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1400,1000",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-sync",
            "--disable-features=Translate,OptimizationHints,MediaRouter",
            # Nothing but this machine is reachable or asked for.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        ]
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
                }
            }
        }
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        data = json.dumps(body if body is not None else {}).encode() if method == "POST" else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
                return json.load(r)["value"]
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"WebDriver {method} {path}: {e.read().decode(errors='replace')}")

    def s(self, path):
        return f"/session/{self.session}{path}"

    def go(self, url):
        self.call("POST", self.s("/url"), {"url": url})

    def find_all(self, css):
        found = self.call("POST", self.s("/elements"), {"using": "css selector", "value": css})
        return [e[ELEMENT] for e in found]

    def find(self, css):
        found = self.find_all(css)
        if not found:
            raise AssertionError(f"nothing matches {css!r} on {self.url()}")
        return found[0]

    def text(self, element):
        return self.call("GET", self.s(f"/element/{element}/text"))

    def attr(self, element, name):
        return self.call("GET", self.s(f"/element/{element}/attribute/{name}"))

    def click(self, element):
        self.call("POST", self.s(f"/element/{element}/click"))

    def url(self):
        return self.call("GET", self.s("/url"))

    def screenshot(self, name):
        png = base64.b64decode(self.call("GET", self.s("/screenshot")))
        path = os.path.join(ARTIFACTS, name)
        with open(path, "wb") as f:
            f.write(png)
        print(f"screenshot: {path}")

    def close(self):
        try:
            self.call("DELETE", self.s(""))
        except Exception:
            pass


def walk(browser, site):
    browser.go(site + "/")
    check("Profiles" in browser.text(browser.find("h1")), "the start page lists the profiles")
    summary = browser.text(browser.find("#summary"))
    check("alerts" in summary and "profiles" in summary, f"the summary counts: {summary}")
    check(len(browser.find_all("#profiles tbody tr")) > 1, "several profiles are listed")
    check(len(browser.find_all("figure.plot svg")) >= 3, "the plots are drawn")
    first_row = browser.find("#profiles tbody tr")
    check("alerted" in browser.attr(first_row, "class"), "the alerted profile comes first, marked")
    profile = browser.find("#profiles tbody tr.alerted a.profile")
    ip = browser.text(profile)
    browser.screenshot("1-profiles.png")

    browser.click(profile)
    check(browser.text(browser.find("h1")) == f"Profile {ip}", f"the profile page of {ip}")
    check(len(browser.find_all("#windows tbody tr")) >= 1, "its time windows are listed")
    check("Flows over time" in browser.text(browser.find("main")), "its flows over time are plotted")
    browser.screenshot("2-profile.png")

    window = browser.find("#windows tbody tr.alerted a.window")
    name = browser.text(window)
    browser.click(window)
    check(name in browser.text(browser.find("h1")), f"the page of {name}")
    lines = browser.find_all("#timeline li")
    check(len(lines) > 0, f"the timeline has {len(lines)} lines")
    timeline = browser.text(browser.find("#timeline"))
    check("resolved " in timeline, "the timeline tells the DNS resolutions in words")
    check(" to " in timeline and " up, " in timeline, "and the connections with their bytes")
    browser.screenshot("3-timeline.png")

    browser.click(browser.find("#tab-out"))
    check(len(browser.find_all("#flows tbody tr")) > 0, "the flows out are listed")
    browser.click(browser.find("#tab-evidence"))
    check(len(browser.find_all("#evidence tbody tr")) > 0, "the evidence is listed")
    browser.click(browser.find("#tab-alerts"))
    alerts = browser.find_all("#alerts tbody tr")
    check(len(alerts) > 0, f"the window has {len(alerts)} alerts")
    browser.screenshot("4-alerts.png")

    browser.click(browser.find("#alerts a.alert"))
    check(browser.text(browser.find("h1")).startswith(f"Alert on {ip}"), "the alert page")
    evidence = browser.find_all("#evidence tbody tr")
    check(len(evidence) > 0, f"the alert shows its {len(evidence)} evidence")
    flows = browser.find_all("#alert-flows tbody tr.malicious")
    check(len(flows) > 0, f"and the {len(flows)} flows behind it, labelled malicious")
    browser.screenshot("5-alert.png")


def main():
    os.makedirs(ARTIFACTS, exist_ok=True)
    work = tempfile.mkdtemp(prefix="slipstream-ui-")
    processes = []
    browser = None
    try:
        out = os.path.join(work, "out")
        subprocess.run([BIN, "-f", PCAP, "-o", out, "-v", "0"], check=True)
        port = free_port()
        view = subprocess.Popen([BIN, "view", out, "--port", str(port)])
        processes.append(view)
        site = f"http://127.0.0.1:{port}"
        wait_http(site + "/api/overview")
        driver_port = free_port()
        driver = subprocess.Popen(
            [CHROMEDRIVER, f"--port={driver_port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(driver)
        wait_http(f"http://127.0.0.1:{driver_port}/status")
        browser = Browser(driver_port)
        walk(browser, site)
    finally:
        if browser:
            browser.close()
        for p in processes:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{checks} passed, 0 failed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        print(f"{checks} passed, 1 failed")
        sys.exit(1)
