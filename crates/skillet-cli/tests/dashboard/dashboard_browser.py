"""Drives the skillet dashboard in a real headless Chromium (Playwright, the system's chromium).

Run by tests/dashboard_browser.rs with the world's environment (so `skillet` here is the
world's), the served base URL and its token. Prints one JSON line per check it passed and exits
non-zero with the reason on the first that fails.

    dashboard_browser.py --base http://127.0.0.1:PORT --token T --skillet PATH
        --chromium /usr/bin/chromium --shots DIR
"""

import argparse
import json
import struct
import subprocess
import sys
import zlib

from playwright.sync_api import expect, sync_playwright


def check(what, ok, detail=""):
    if not ok:
        print(f"FAILED: {what}: {detail}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps({"passed": what}), flush=True)


def run(skillet, *args):
    out = subprocess.run([skillet, *args], capture_output=True, text=True, timeout=60)
    return out.returncode, out.stdout, out.stderr


def not_blank(png_path):
    """Whether a PNG screenshot holds a picture: many distinct pixel values, not one flat colour."""
    data = open(png_path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    # Rows are prefixed by a filter byte; distinct values over a sample of the raw rows are
    # enough to tell a drawn page from an empty one.
    distinct = len(set(raw[:: max(1, len(raw) // 200_000)]))
    return width, height, distinct


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--skillet", required=True)
    p.add_argument("--chromium", required=True)
    p.add_argument("--shots", required=True)
    a = p.parse_args()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=a.chromium, headless=True)
        # Without the token the page loads but says what to do, and shows no data.
        bare = browser.new_page()
        bare.goto(a.base + "/")
        expect(bare.locator("#problem")).to_contain_text("#token=", timeout=10_000)
        check("without the token the page says how to open it", bare.locator("#skills tbody tr").count() == 0)
        bare.close()

        page = browser.new_page(viewport={"width": 1280, "height": 800})
        problems = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.goto(f"{a.base}/#token={a.token}")
        expect(page.locator("#live")).to_have_class("live on", timeout=10_000)
        check("the page connects with the token", "#token" not in page.url, page.url)

        # A run appears live, at the top of the executions, without a reload.
        code, out, err = run(a.skillet, "run", "greet", "--json")
        check("skillet run greet", code == 0, err)
        execution = json.loads(out)["execution_id"]
        row = page.locator(f"#executions tbody tr[data-id='{execution}']")
        expect(row).to_be_visible(timeout=10_000)
        check("the run appears live", True)

        # Its detail: outcome, output tail, spans.
        row.click()
        detail = page.locator("#detail")
        expect(detail).to_be_visible()
        expect(page.locator("#detail-output")).to_contain_text("hello from greet", timeout=10_000)
        expect(page.locator("#detail-fields")).to_contain_text(execution)
        spans = page.locator("#detail-spans .span-row")
        check("the detail shows output and spans", spans.count() >= 3, str(spans.count()))
        page.locator("#detail-close").click()

        # Output that looks like markup stays text.
        code, out, _ = run(a.skillet, "run", "markup", "--json")
        markup = json.loads(out)["execution_id"]
        page.locator(f"#executions tbody tr[data-id='{markup}']").click(timeout=10_000)
        expect(page.locator("#detail-output")).to_contain_text("<img src=x", timeout=10_000)
        pwned = page.evaluate("() => window.pwned === undefined")
        check("markup in output is shown as text, never run", pwned)
        page.locator("#detail-close").click()

        # Filters: only failed runs of one skill.
        page.select_option("#filter-status", "failed")
        expect(page.locator("#executions tbody tr[data-status='ok']")).to_have_count(0, timeout=10_000)
        page.select_option("#filter-status", "")

        # A breaker opened by failures is closed from the page.
        for _ in range(3):
            run(a.skillet, "run", "flaky")
        code, out, _ = run(a.skillet, "breaker", "--json")
        states = {b["skill"]: b["state"] for b in json.loads(out)}
        check("the breaker opened", states.get("flaky") == "open", out)
        button = page.locator("[data-testid=breaker-close][data-skill=flaky]")
        expect(button).to_be_visible(timeout=10_000)
        page.screenshot(path=f"{a.shots}/dashboard-1280x800.png", full_page=False)
        button.click()
        expect(button).to_have_count(0, timeout=10_000)
        code, out, _ = run(a.skillet, "breaker", "--json")
        states = {b["skill"]: b["state"] for b in json.loads(out)}
        check("the close button closed the circuit", "flaky" not in states, out)

        # Usable on a phone: nothing wider than the screen, the detail fits.
        phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        phone.goto(f"{a.base}/#token={a.token}")
        expect(phone.locator("#live")).to_have_class("live on", timeout=10_000)
        expect(phone.locator("#executions tbody tr").first).to_be_visible(timeout=10_000)
        overflow = phone.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        check("nothing overflows a phone's width", overflow <= 0, f"{overflow}px too wide")
        phone.screenshot(path=f"{a.shots}/dashboard-phone.png", full_page=True)

        for shot in ("dashboard-1280x800.png", "dashboard-phone.png"):
            width, height, distinct = not_blank(f"{a.shots}/{shot}")
            check(f"{shot} is not blank", width > 0 and distinct > 20, f"{width}x{height}, {distinct} values")

        check("no script errors (the content policy held)", not problems, "; ".join(problems))
        browser.close()


if __name__ == "__main__":
    main()
