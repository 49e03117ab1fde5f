extension DashboardTests {
    /// Drives headless Chromium through the dashboard over the DevTools protocol on a pipe
    /// (`--remote-debugging-pipe`), Python standard library only: signs in (a wrong token first),
    /// waits for each view's `data-state`, searches, opens the bounced message, visits the other
    /// views, saves a screenshot of each step and prints one JSON report of what the page showed
    /// (plus uncaught exceptions, console errors and CSP violations). argv[1] is a JSON object:
    /// `base`, `token`, `screens` (directory), `recipient` (to search for), `queuedId`, `tenant`; with
    /// `"mode": "cluster"` only sign-in and the overview's health and cluster cards (`name` names the screenshot).
    static let driver = #"""
# Drives headless Chromium through the Sendarix dashboard over the DevTools protocol on a pipe
# (--remote-debugging-pipe: JSON messages separated by NUL on fds 3 and 4), standard library only.
# argv[1]: JSON {"base", "token", "screens", "recipient", "queuedId"}. Prints one JSON report.
import base64, json, os, shutil, subprocess, sys, tempfile, time

args = json.loads(sys.argv[1])
screens = args["screens"]
os.makedirs(screens, exist_ok=True)
profile = tempfile.mkdtemp(prefix="sx-chromium-")
cmd_r, cmd_w = os.pipe()
out_r, out_w = os.pipe()

def child_fds():
    os.dup2(cmd_r, 3)
    os.dup2(out_w, 4)

browser = subprocess.Popen(
    ["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
     "--user-data-dir=" + profile, "--no-first-run", "--no-default-browser-check", "--disable-extensions",
     "--disable-background-networking", "--disable-dev-shm-usage", "--disable-sync", "--mute-audio", "--window-size=1280,1000", "about:blank"],
    pass_fds=(3, 4), preexec_fn=child_fds, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.close(cmd_r)
os.close(out_w)
buffer = b""
next_id = 0
session = None
problems = []  # uncaught exceptions, CSP violations, console errors
report = {"screenshots": [], "problems": problems}

def note(message):
    method, params = message.get("method"), message.get("params", {})
    if method == "Runtime.exceptionThrown":
        d = params["exceptionDetails"]
        problems.append("exception: " + (d.get("exception", {}).get("description") or d.get("text", "")))
    elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
        problems.append("console.error: " + " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
    elif method == "Log.entryAdded":
        e = params["entry"]
        # Failed API answers (404 of an endpoint this node lacks) are network entries, expected.
        if e.get("level") == "error" and e.get("source") != "network":
            problems.append(e.get("source", "") + ": " + e.get("text", ""))

def send(method, params=None, on_session=True):
    global next_id, buffer
    next_id += 1
    message = {"id": next_id, "method": method, "params": params or {}}
    if on_session and session:
        message["sessionId"] = session
    os.write(cmd_w, json.dumps(message).encode() + b"\0")
    while True:
        while b"\0" not in buffer:
            chunk = os.read(out_r, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            buffer += chunk
        raw, buffer = buffer.split(b"\0", 1)
        reply = json.loads(raw)
        if reply.get("id") == next_id:
            if "error" in reply:
                raise RuntimeError(method + ": " + json.dumps(reply["error"]))
            return reply["result"]
        note(reply)

def js(expression):
    r = send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
    if "exceptionDetails" in r:
        raise RuntimeError("evaluating " + expression + ": " + json.dumps(r["exceptionDetails"])[:400])
    return r["result"].get("value")

def shot(name):
    data = send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
    path = os.path.join(screens, name + ".png")
    with open(path, "wb") as f:
        f.write(base64.b64decode(data))
    report["screenshots"].append(path)

def wait(step, expression, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if js(expression):
            return
        time.sleep(0.05)
    shot("timeout-" + step)
    raise RuntimeError(step + ": timed out waiting for " + expression + "; page text: "
                       + str(js("document.body.innerText"))[:1500])

def texts(selector, attribute=None):
    getter = "e.getAttribute(%s)" % json.dumps(attribute) if attribute else "e.textContent.trim()"
    return js("[...document.querySelectorAll(%s)].map(e => %s)" % (json.dumps(selector), getter))

def text(selector):
    return js("(e => e ? e.innerText.trim() : null)(document.querySelector(%s))" % json.dumps(selector))

def type_into(selector, value):
    js("(e => { e.focus(); e.value = ''; })(document.querySelector(%s))" % json.dumps(selector))
    send("Input.insertText", {"text": value})

def click(selector):
    js("document.querySelector(%s).click()" % json.dumps(selector))

def visible(selector):
    return "(e => !!e && !e.closest('[hidden]'))(document.querySelector(%s))" % json.dumps(selector)

try:
    page = [t for t in send("Target.getTargets", on_session=False)["targetInfos"] if t["type"] == "page"][0]
    session = send("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True}, on_session=False)["sessionId"]
    for domain in ("Page", "Runtime", "Log"):
        send(domain + ".enable")
    send("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 1000, "deviceScaleFactor": 1, "mobile": False})

    if args.get("mode") == "cluster":
        # A cluster node: sign in, read the cluster card and the peers.
        send("Page.navigate", {"url": args["base"] + "/ui/"})
        wait("load", "document.body && document.body.dataset.ready === 'true'")
        type_into("#token-input", args["token"])
        click("#login-form button[type=submit]")
        for panel in ("node-health", "cluster-card"):
            wait("overview-" + panel, "document.querySelector('#%s').dataset.state === 'loaded'" % panel)
        report["nodeHealth"] = text("#node-health")
        report["cluster"] = text("#cluster-facts")
        report["raftPeers"] = js("[...document.querySelectorAll('#raft-peers tbody tr')].map(r => [...r.cells].map(c => c.textContent))")
        report["healthPeers"] = js("[...document.querySelectorAll('#peer-table tbody tr')].map(r => [...r.cells].map(c => c.textContent))")
        shot("10-cluster-" + args.get("name", "node"))
        report["ok"] = True
        raise SystemExit

    # 1. The page asks for the token; a wrong one is refused.
    send("Page.navigate", {"url": args["base"] + "/ui/"})
    wait("load", "document.body && document.body.dataset.ready === 'true'")
    report["loginShown"] = js(visible("#login-form"))
    report["navHiddenBeforeLogin"] = js("document.querySelector('#nav').hidden")
    type_into("#token-input", "not-the-token")
    click("#login-form button[type=submit]")
    wait("wrong-token", "document.querySelector('#login-error').textContent.length > 0")
    report["wrongTokenError"] = text("#login-error")
    shot("01-login-refused")

    # 2. Sign in; the overview fills in.
    type_into("#token-input", args["token"])
    click("#login-form button[type=submit]")
    for panel in ("node-health", "queue-card", "cluster-card", "rates", "providers", "queue-list"):
        wait("overview-" + panel, "document.querySelector('#%s').dataset.state === 'loaded'" % panel)
    wait("queue-chart", "Number(document.querySelector('#queue-chart').dataset.points) >= 1 && "
         "document.querySelector('#queue-history').dataset.server !== undefined")
    report["queueChartPoints"] = js("Number(document.querySelector('#queue-chart').dataset.points)")
    report["queueHistoryFromNode"] = js("document.querySelector('#queue-history').dataset.server === 'true'")
    report["tokenInSessionStorage"] = js("sessionStorage.getItem('sendarix.adminToken') === %s" % json.dumps(args["token"]))
    report["nodeHealth"] = text("#node-health")
    report["queueCount"] = text("#queue-count")
    report["cluster"] = text("#cluster-card")
    report["queueChartPolylines"] = js("document.querySelectorAll('#queue-chart polyline').length")
    report["rateTiles"] = js("Object.fromEntries([...document.querySelectorAll('#rate-tiles .tile')].map(t => [t.dataset.type, t.querySelector('.n').textContent]))")
    report["rateBars"] = js("document.querySelectorAll('#rates-chart rect').length")
    report["ratesSource"] = js("document.querySelector('#rates').dataset.source")
    report["providers"] = js("[...document.querySelectorAll('#providers tbody tr')].map(r => [...r.cells].map(c => c.textContent))")
    report["queueListIds"] = texts("#queue-list tbody tr", "data-queue-id")
    shot("02-overview")

    # 3. The events view lists the messages; the search narrows to one recipient.
    click("#nav a[data-view=events]")
    wait("events", "document.querySelector('#events').dataset.state === 'loaded' && " + visible("#events-table"))
    report["eventQueueIds"] = texts("#events-table tbody tr", "data-queue-id")
    report["eventRecipients"] = texts("#events-table tbody tr", "data-recipient")
    shot("03-events")
    type_into("#search-recipient", args["recipient"])
    click("#search-submit")
    wait("search", "document.querySelector('#events').dataset.state === 'loaded' && "
         "document.querySelector('#events').dataset.query.includes('recipient=')")
    report["searchHash"] = js("location.hash")
    report["searchRecipients"] = texts("#events-table tbody tr", "data-recipient")
    report["searchQueueIds"] = texts("#events-table tbody tr", "data-queue-id")
    report["searchTypes"] = texts("#events-table tbody tr", "data-type")
    report["searchSummary"] = text("#events-summary")
    shot("04-search")

    # The same search one event a page: "Older events" pages on where the node returns a cursor.
    type_into("#search-limit", "1")
    click("#search-submit")
    wait("paged-search", "document.querySelector('#events').dataset.state === 'loaded' && "
         "document.querySelector('#events').dataset.query.endsWith('limit=1')")
    report["pagedFirstTypes"] = texts("#events-table tbody tr", "data-type")
    report["pagedMoreShown"] = js(visible("#events-more"))
    if report["pagedMoreShown"]:
        click("#events-more")
        wait("older-events", "document.querySelector('#events').dataset.state === 'loaded' && "
             "document.querySelector('#events').dataset.pages === '2'")
        report["pagedTypes"] = texts("#events-table tbody tr", "data-type")
        report["pagedRecipients"] = texts("#events-table tbody tr", "data-recipient")
        shot("04b-search-older")

    # 4. A click on a result opens the message: envelope, per-recipient history, remote replies.
    click("#events-table tbody tr[data-type=bounced]")
    wait("message", "document.querySelector('#message-detail').dataset.state === 'loaded' && " + visible("#message-detail"))
    report["messageId"] = text("#message-id")
    report["messageEnvelope"] = text("#message-envelope")
    report["messageRecipients"] = text("#message-recipients")
    report["messageHistoryTypes"] = texts("#message-recipients li", "data-type")
    report["messageHeaders"] = text("#message-headers")
    shot("05-message-bounced")

    # 5. A message still in the queue shows its headers and last reply.
    send("Page.navigate", {"url": args["base"] + "/ui/#/message/" + args["queuedId"]})
    wait("queued-message", "document.body && document.body.dataset.ready === 'true' && "
         "document.querySelector('#message-detail').dataset.queueId === %s && "
         "document.querySelector('#message-detail').dataset.state === 'loaded'" % json.dumps(args["queuedId"]))
    report["queuedEnvelope"] = text("#message-envelope")
    report["queuedRecipients"] = text("#message-recipients")
    report["queuedHeaders"] = text("#message-headers")
    report["injectedElement"] = js("document.querySelector('#injected') !== null")
    shot("06-message-queued")

    # 6. Suppressions, webhooks, sending domains.
    for name, hash, panel in (("suppressions", "#/suppressions?tenant=" + args.get("tenant", "default"), "suppressions"),
                              ("webhooks", "#/webhooks", "webhooks"), ("domains", "#/domains", "domains")):
        js("location.hash = %s" % json.dumps(hash))
        wait(name, "['loaded', 'unavailable', 'error'].includes(document.querySelector('#%s').dataset.state) && %s"
             % (panel, visible("#" + panel)))
        report[name + "State"] = js("document.querySelector('#%s').dataset.state" % panel)
        report[name + "Text"] = text("#" + panel)
        shot({"suppressions": "07", "webhooks": "08", "domains": "09"}[name] + "-" + name)
    report["suppressedAddresses"] = texts("#suppressions tbody tr", "data-address")
    report["webhookIds"] = texts("#webhook-list tbody tr", "data-webhook-id")
    report["webhookFailures"] = js("[...document.querySelectorAll('#webhook-failures tbody tr')].map(r => [...r.cells].map(c => c.textContent))")
    report["ok"] = True
except SystemExit:
    pass
except Exception as e:
    report["ok"] = False
    report["error"] = str(e)
finally:
    try:
        send("Browser.close", on_session=False)
    except Exception:
        pass
    try:
        browser.wait(10)
    except subprocess.TimeoutExpired:
        browser.kill()
        browser.wait()
    shutil.rmtree(profile, ignore_errors=True)
print(json.dumps(report))
"""#
}
