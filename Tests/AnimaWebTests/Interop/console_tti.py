"""Time to interactive of the console's process view in headless Chromium, next to its
time to first byte and the JSON API's time for the same processes, in one run.

Usage: console_tti.py ANIMA_BENCH [PROCESSES] [RUNS]
Starts `anima-bench web --hold` (the daemon, a scripted model, PROCESSES sleeping agent
processes of one user, a console session and an `agents` token), then alternates RUNS times:
  ttfb: GET /web/processes with the session cookie, to its first byte (urllib)
  tti:  Chromium opens /web/processes; navigation start to the end of DOMContentLoaded,
        when the page is read and the deferred script has run
  ready: the same navigation to the first frame drawn after DOMContentLoaded (a timer set in
        a requestAnimationFrame callback): the page laid out, painted and answering input
  api:  GET /anima/v1/processes with the token, to its last byte (urllib): the anchor of TTFB
  json: Chromium opens /anima/v1/processes (the token as a header), measured as tti and
        ready: the same data from the API in the same browser, the anchor of both
Prints p50 of each and the ratios ttfb/api, tti/json and ready/json (goal: page <= 2x the API).
"""
import json, shutil, statistics, subprocess, sys, time, urllib.request

bench = sys.argv[1]
processes = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 20
chromium = shutil.which("chromium") or "/usr/bin/chromium"

from playwright.sync_api import sync_playwright  # noqa: E402

daemon = subprocess.Popen([bench, "web", "--hold", "--processes", str(processes)], stdout=subprocess.PIPE, text=True)
try:
    setup = json.loads(daemon.stdout.readline())
    base, cookie, token = setup["base"], setup["cookie"], setup["token"]

    def timed(path, headers, first_byte):
        request = urllib.request.Request(base + path, headers=headers)
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as response:
            if first_byte:
                response.read(1)
                elapsed = time.perf_counter() - start
                response.read()
                return elapsed
            response.read()
            return time.perf_counter() - start

    page_headers = {"Cookie": "anima_session=" + cookie}
    api_headers = {"Authorization": "Bearer " + token}
    ttfb, tti, ready, api, json_tti, json_ready = [], [], [], [], [], []
    frame = "document.addEventListener('DOMContentLoaded', () => requestAnimationFrame(() => setTimeout(() => { window.animaReady = performance.now() })))"

    def opened(tab, path):  # seconds to DOMContentLoaded's end and to the first frame after it
        tab.goto(base + path, wait_until="domcontentloaded")
        tab.wait_for_function("window.animaReady !== undefined")
        nav = json.loads(tab.evaluate("JSON.stringify(performance.getEntriesByType('navigation')[0])"))
        return nav["domContentLoadedEventEnd"] / 1000, tab.evaluate("window.animaReady") / 1000

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context()
        context.add_cookies([{"name": "anima_session", "value": cookie, "url": base}])
        context.add_init_script(frame)
        page = context.new_page()
        json_context = browser.new_context(extra_http_headers=api_headers)  # the API's JSON, opened by the browser
        json_context.add_init_script(frame)
        reader = json_context.new_page()
        page.goto(base + "/web/processes")  # warm all three
        assert page.locator("#process-table tbody tr").count() == processes, page.locator("#process-table tbody tr").count()
        timed("/web/processes", page_headers, True)
        timed("/anima/v1/processes", api_headers, False)
        for _ in range(runs):
            ttfb.append(timed("/web/processes", page_headers, True))
            for values, value in zip((tti, ready), opened(page, "/web/processes")):
                values.append(value)
            api.append(timed("/anima/v1/processes", api_headers, False))
            for values, value in zip((json_tti, json_ready), opened(reader, "/anima/v1/processes")):
                values.append(value)
        assert '"pid"' in reader.content()
        browser.close()
    series = (("ttfb", ttfb), ("tti", tti), ("ready", ready), ("api", api), ("json", json_tti), ("json_ready", json_ready))
    p50 = {name: statistics.median(values) for name, values in series}
    print(f"{processes} processes, {runs} runs each, p50:")
    print(f"page TTFB {p50['ttfb'] * 1000:.1f} ms, DOMContentLoaded {p50['tti'] * 1000:.1f} ms, first frame after it "
          f"{p50['ready'] * 1000:.1f} ms; API last byte {p50['api'] * 1000:.1f} ms, API JSON opened in Chromium "
          f"{p50['json'] * 1000:.1f} ms, first frame {p50['json_ready'] * 1000:.1f} ms")
    print(f"ratio ttfb/api {p50['ttfb'] / p50['api']:.2f}x, tti/json {p50['tti'] / p50['json']:.2f}x, "
          f"ready/json {p50['ready'] / p50['json_ready']:.2f}x (goal <= 2x); ready/api last byte {p50['ready'] / p50['api']:.2f}x")
    print(json.dumps({"processes": processes, "runs": runs, **{name + "_ms": value * 1000 for name, value in p50.items()},
                      "ratio_ttfb": p50["ttfb"] / p50["api"], "ratio_tti": p50["tti"] / p50["json"],
                      "ratio_ready": p50["ready"] / p50["json_ready"], "ratio_ready_api": p50["ready"] / p50["api"]}))
finally:
    daemon.terminate()
    try:
        daemon.wait(timeout=10)
    except subprocess.TimeoutExpired:
        daemon.kill()
