"""The web console end to end in headless Chromium (Debian's), driven by Playwright with
Chromium's virtual authenticator (DevTools WebAuthn domain): enroll and register a
passkey, see the processes, kill one, forget a memory, chat, change the policy by hand
(the daemon applies it at once), approve an agent's pending call, watch the daemon's
metrics, sign out, sign in again.

Usage: console_e2e.py ANIMA ANIMA_BENCH OUT_DIR
Starts `anima-bench serve --scripted` on a free port with its own data directory and the
test mail MCP server, and saves a screenshot of each view in OUT_DIR. Exits 0 when every
step passed; prints 'SKIP: ...' and exits 3 only when Chromium is absent.
"""
import json, os, shutil, socket, subprocess, sys, tempfile, time, urllib.request

anima, bench, out = sys.argv[1], sys.argv[2], sys.argv[3]
chromium = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(chromium):
    print("SKIP: Debian's chromium is not installed (scripts/setup.sh installs it)")
    sys.exit(3)

from playwright.sync_api import sync_playwright, expect  # noqa: E402
from axe_playwright_python.sync_playwright import Axe  # noqa: E402

axe, findings = Axe(), {}


def scan(page, view):
    """axe-core's WCAG checks on the view as shown; serious and critical findings fail the test."""
    result = axe.run(page)
    findings[view] = [{"id": v["id"], "impact": v.get("impact"), "nodes": len(v.get("nodes", []))} for v in result.response["violations"]]

os.makedirs(out, exist_ok=True)
home = tempfile.mkdtemp(prefix="anima-e2e-")
data = os.path.join(home, "data")
# The test mail server (Tests/Servers), readable by the sandbox's user, and an agent script:
# only the task that names the invoice email follows it; every other agent echoes.
tools_python = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(sys.executable))), "tools-venv", "bin", "python")  # beside web-venv
mail_dir = tempfile.mkdtemp(prefix="anima-e2e-mail-")
os.chmod(mail_dir, 0o755)
shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Servers", "mail_server.py"), mail_dir)
os.chmod(os.path.join(mail_dir, "mail_server.py"), 0o644)
with open(os.path.join(home, "mcp.json"), "w") as f:
    json.dump({"servers": [{"name": "mail", "command": tools_python, "args": [os.path.join(mail_dir, "mail_server.py")],
                            "readOnlyPaths": [mail_dir], "startupTimeout": 30}]}, f)
mail_task = "Reply to the invoice email"
with open(os.path.join(home, "script.json"), "w") as f:
    json.dump({"when": mail_task, "steps": [
        {"call": "mail__list_emails", "arguments": {}},
        {"call": "mail__send_email", "arguments": {"to": "bob@example.com", "subject": "Re: Invoice", "body": "Paid."}},
        {"answer": "{last}"}]}, f)
env = dict(os.environ, HOME=home, XDG_DATA_HOME=home + "/share", XDG_CONFIG_HOME=home + "/config",
           XDG_STATE_HOME=home + "/state", XDG_RUNTIME_DIR=home + "/run", ANIMA_DATA_DIR="", ANIMA_CONFIG="")
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
base = f"http://localhost:{port}"
daemon = subprocess.Popen([bench, "serve", "--scripted", "--scripted-delay-ms", "1500", "--port", str(port), "--data-dir", data,
                           "--mcp-config", os.path.join(home, "mcp.json"), "--script", os.path.join(home, "script.json")],
                          env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(out, "daemon.log"), "w"))


def step(text):
    print("step:", text, flush=True)


def api(method, path, token, body=None, timeout=10):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


try:
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/health", timeout=1)
            break
        except Exception:
            time.sleep(0.1)
    else:
        raise SystemExit("the daemon did not start")
    cli = lambda *args: subprocess.run([anima, *args, "--data-dir", data], env=env, capture_output=True, text=True, check=True).stdout.strip()
    code = cli("web", "enroll", "--user", "alice", "--group", "users", "--group", "logs")
    token = cli("token", "create", "--user", "alice", "--scope", "agents", "--scope", "memory")
    pid = int(api("POST", "/anima/v1/processes", token, {"name": "e2e-sleeper", "task": " ".join(["slowly"] * 200)})["pid"])
    api("POST", "/anima/v1/agent-memory/e2e-agent/passages", token, {"text": "The picnic is on Saturday by the river."})

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 390, "height": 844})  # phone width
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable", {"enableUI": False})
        cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
            "isUserVerified": True, "automaticPresenceSimulation": True}})

        step("pages need a session")
        page.goto(base + "/web/processes")
        expect(page).to_have_url(base + "/web/signin")
        page.screenshot(path=os.path.join(out, "signin.png"), full_page=True)
        scan(page, "signin")

        step("register a passkey with the enrollment code")
        page.goto(base + "/web/enroll")
        page.get_by_label("Enrollment code").fill(code)
        page.screenshot(path=os.path.join(out, "enroll.png"), full_page=True)
        scan(page, "enroll")
        page.get_by_role("button", name="Register a passkey").click()
        page.wait_for_url(base + "/web/processes", timeout=15000)
        expect(page.locator(f"#pid-{pid}")).to_contain_text("e2e-sleeper")
        page.screenshot(path=os.path.join(out, "processes.png"), full_page=True)
        scan(page, "processes")
        # The table is laid out as a grid in pieces (see ConsoleAssets); it must stay a table to
        # assistive technology: its headers, rows and cells as roles in the accessibility tree.
        table = page.get_by_role("table", name="process(es)")
        expect(table.get_by_role("columnheader", name="Signal")).to_have_count(1)
        expect(table.get_by_role("row").filter(has_text="e2e-sleeper").get_by_role("cell", name="e2e-sleeper")).to_have_count(1)

        step("kill a process")
        with page.expect_navigation():
            page.locator(f"#pid-{pid}").get_by_role("button", name="kill").click()
        assert page.url == base + "/web/processes", page.inner_text("main")
        status = api("GET", f"/anima/v1/processes/{pid}", token)
        assert "kill" in json.dumps(status).lower() or "exit" in json.dumps(status).lower(), status

        step("search and forget a memory")
        page.goto(base + "/web/memory")
        page.get_by_label("Search memory").fill("picnic")
        with page.expect_navigation():
            page.get_by_role("button", name="Search").click()
        expect(page.locator(".results")).to_contain_text("The picnic is on Saturday")
        page.screenshot(path=os.path.join(out, "memory.png"), full_page=True)
        scan(page, "memory")
        with page.expect_navigation():
            page.locator(".results").get_by_role("button").first.click()
        expect(page.get_by_role("alert")).to_contain_text("Forgot passage")
        page.goto(base + "/web/memory?q=picnic")
        expect(page.locator(".results")).not_to_contain_text("The picnic is on Saturday")

        step("approvals, tools and the verified audit log render")
        page.goto(base + "/web/approvals")
        page.screenshot(path=os.path.join(out, "approvals.png"), full_page=True)
        scan(page, "approvals")
        page.goto(base + "/web/tools")
        expect(page.locator("#tool-mail__send_email").locator("xpath=..")).to_contain_text("network")
        page.screenshot(path=os.path.join(out, "tools.png"), full_page=True)
        scan(page, "tools")
        page.goto(base + "/web/audit")
        expect(page.get_by_role("status").first).to_contain_text("intact")
        expect(page.locator("table")).to_contain_text("passkey-register")
        page.screenshot(path=os.path.join(out, "audit.png"), full_page=True)
        scan(page, "audit")

        step("chat with an agent: the answer streams in, the words stay text")
        page.goto(base + "/web/chat")
        page.screenshot(path=os.path.join(out, "chat.png"), full_page=True)
        scan(page, "chat")
        page.get_by_label("Message").fill("hello from the console <b>bold</b>")
        with page.expect_navigation():
            page.get_by_role("button", name="Start").click()
        assert "/web/chat/" in page.url, page.url
        expect(page.locator("#transcript")).to_contain_text("hello from the console <b>bold</b>")
        expect(page.locator("#transcript li.assistant").first).to_be_visible(timeout=20000)
        page.screenshot(path=os.path.join(out, "conversation.png"), full_page=True)
        scan(page, "conversation")

        step("policies, tokens, context window, processors and metrics")
        page.goto(base + "/web/policies")
        expect(page.locator("main")).to_contain_text("the strict default applies")
        page.screenshot(path=os.path.join(out, "policies.png"), full_page=True)
        scan(page, "policies")
        step("a policy written by hand applies at once: the agent's call waits, and is approved in the browser")
        with open(os.path.join(data, "policy.json"), "w") as f:
            json.dump({"default": {"allow": ["user", "system"], "onViolation": "ask"}}, f)
        for _ in range(100):
            page.goto(base + "/web/policies")
            if "the strict default applies" not in page.inner_text("main"):
                break
            time.sleep(0.1)
        expect(page.locator("main")).to_contain_text('"onViolation": "ask"')
        page.goto(base + "/web/audit")
        expect(page.locator("table")).to_contain_text("policy-reload")
        page.goto(base + "/web/approvals")  # its page watches the user's agents, so a question waits for an answer
        mailer = int(api("POST", "/anima/v1/processes", token, {"name": "e2e-mailer", "task": mail_task, "tools": ["mail"]})["pid"])
        for _ in range(120):
            page.goto(base + "/web/approvals")
            if "wants to call mail__send_email" in page.inner_text("main"):
                break
            time.sleep(0.5)
        card = page.locator("section.card", has_text=f"Process {mailer} wants to call mail__send_email")
        expect(card).to_contain_text("bob@example.com")
        expect(card).to_contain_text("(untrusted)")
        page.screenshot(path=os.path.join(out, "approval.png"), full_page=True)
        scan(page, "approval")
        with page.expect_navigation():
            card.get_by_role("button", name="Approve").click()
        expect(page.locator("main")).not_to_contain_text(f"Process {mailer} wants to call")
        done = api("GET", f"/anima/v1/processes/{mailer}/wait", token, timeout=120)  # the scripted answer takes 1.5 s a word
        assert "sent to bob@example.com" in json.dumps(done), done
        page.goto(base + "/web/audit")
        expect(page.locator("table")).to_contain_text("approved by alice")

        page.goto(base + "/web/tokens")
        page.locator("#token-name").fill("e2e-browser")
        page.get_by_label("chat", exact=True).check()
        with page.expect_navigation():
            page.get_by_role("button", name="Create token").click()
        secret = page.locator("#secret").input_value()
        assert secret.startswith("anima_"), secret
        page.screenshot(path=os.path.join(out, "token-created.png"), full_page=True)
        scan(page, "token-created")
        assert "data" in api("GET", "/v1/models", secret)  # the secret works, with the chat scope it was given
        page.goto(base + "/web/tokens")
        expect(page.locator("table")).to_contain_text("e2e-browser")
        assert secret not in page.content()
        page.screenshot(path=os.path.join(out, "tokens.png"), full_page=True)
        scan(page, "tokens")
        page.goto(base + "/web/context?agent=e2e-agent")
        expect(page.locator("main")).to_contain_text("Core memory")
        page.screenshot(path=os.path.join(out, "context.png"), full_page=True)
        scan(page, "context")
        for view in ("processors", "metrics"):
            page.goto(base + "/web/" + view)
            page.screenshot(path=os.path.join(out, view + ".png"), full_page=True)
            scan(page, view)
        expect(page.locator("svg.chart").first).to_be_visible()
        # The daemon's Prometheus series, charted while the page is open (alice is in the logs group).
        expect(page.locator("#daemon-metrics")).to_contain_text("anima_http_requests_total")
        expect(page.locator("#live")).to_contain_text("Updated", timeout=15000)
        expect(page.locator("#daemon-metrics svg.chart polyline").first).to_be_attached()
        page.screenshot(path=os.path.join(out, "metrics-live.png"), full_page=True)

        step("sign out, then sign in with the passkey")
        with page.expect_navigation():
            page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(base + "/web/signin")
        page.goto(base + "/web/processes")
        expect(page).to_have_url(base + "/web/signin")
        page.get_by_role("button", name="Sign in with a passkey").click()
        page.wait_for_url(base + "/web/processes", timeout=15000)
        expect(page.get_by_text("Signed in as alice")).to_be_visible()
        page.screenshot(path=os.path.join(out, "signed-in-again.png"), full_page=True)
        scan(page, "signed-in-again")
        sessions = cli("web", "sessions")
        assert sessions.count("alice") >= 2 and "revoked" in sessions, sessions
        browser.close()
    with open(os.path.join(out, "axe.json"), "w") as f:
        json.dump(findings, f, indent=1)
    serious = {view: [v for v in found if v["impact"] in ("serious", "critical")] for view, found in findings.items()}
    print("axe:", sum(len(v) for v in findings.values()), "findings over", len(findings), "views;",
          sum(len(v) for v in serious.values()), "serious or critical")
    assert not any(serious.values()), serious
    print("screenshots:", out)
    print("E2E: all steps passed")
finally:
    daemon.terminate()
    try:
        daemon.wait(timeout=10)
    except subprocess.TimeoutExpired:
        daemon.kill()
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(mail_dir, ignore_errors=True)
