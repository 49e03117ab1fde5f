extension DashboardAssets {
    /// The dashboard page: markup only; `{{scriptVersion}}` and `{{styleVersion}}` are replaced by the files' fingerprints.
    /// Edited here, as a raw string; served as `/ui/`.
    static let pageText = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Sendarix dashboard</title>
<link rel="icon" href="favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="app.css?v={{styleVersion}}">
<script src="app.js?v={{scriptVersion}}" defer></script>
</head>
<body>
<header class="topbar">
  <span class="brand">Sendarix</span>
  <nav id="nav" hidden>
    <a href="#/overview" data-view="overview">Overview</a>
    <a href="#/events" data-view="events">Events</a>
    <a href="#/suppressions" data-view="suppressions">Suppressions</a>
    <a href="#/webhooks" data-view="webhooks">Webhooks</a>
    <a href="#/domains" data-view="domains">Domains</a>
  </nav>
  <span id="node-name" class="muted"></span>
  <button id="sign-out" type="button" hidden>Sign out</button>
</header>
<noscript><p class="error">The dashboard needs JavaScript.</p></noscript>
<main>
  <section id="login" class="view" hidden>
    <form id="login-form" class="panel narrow">
      <h1>Sign in</h1>
      <p class="muted">Enter this cluster's admin token (or the read-only token). It stays in this browser tab only.</p>
      <label for="token-input">Admin token</label>
      <input id="token-input" name="token" type="password" autocomplete="off" required>
      <button type="submit">Sign in</button>
      <p id="login-error" class="error" role="alert"></p>
    </form>
  </section>

  <section id="view-overview" class="view" hidden>
    <div class="cards">
      <article class="panel" id="node-health" data-state="loading">
        <h2>Node health</h2>
        <dl class="facts" id="node-facts"></dl>
        <table class="grid" id="peer-table" hidden>
          <thead><tr><th>Peer</th><th>Address</th><th>Healthy</th><th>Last contact</th><th>Last error</th></tr></thead>
          <tbody></tbody>
        </table>
      </article>
      <article class="panel" id="queue-card" data-state="loading">
        <h2>Queue</h2>
        <p class="big" id="queue-count">–</p>
        <p class="muted">messages waiting for delivery</p>
      </article>
      <article class="panel" id="cluster-card" data-state="loading">
        <h2>Cluster</h2>
        <dl class="facts" id="cluster-facts"></dl>
        <table class="grid" id="raft-peers" hidden>
          <thead><tr><th>Peer</th><th>Address</th><th>Connected</th><th>Match</th><th>Lag</th><th>Last error</th></tr></thead>
          <tbody></tbody>
        </table>
      </article>
    </div>
    <article class="panel" id="queue-history" data-state="loading">
      <h2>Queue depth over time</h2>
      <p class="muted" id="queue-history-note"></p>
      <svg id="queue-chart" class="chart" viewBox="0 0 800 200" role="img" aria-label="queue depth over time"></svg>
    </article>
    <article class="panel" id="rates" data-state="loading">
      <h2>Outcomes in the last hour</h2>
      <div class="tiles" id="rate-tiles"></div>
      <svg id="rates-chart" class="chart" viewBox="0 0 800 200" role="img" aria-label="outcomes per minute"></svg>
      <p class="legend" id="rates-legend"></p>
    </article>
    <article class="panel" id="providers" data-state="loading">
      <h2>Deferrals and blocks by provider (last hour)</h2>
      <table class="grid">
        <thead><tr><th>Provider</th><th>Recipient domains</th><th>Deferred</th><th>Bounced</th><th>Blocks</th><th>Last reply</th></tr></thead>
        <tbody></tbody>
      </table>
      <p class="muted" id="providers-empty" hidden>No deferrals or bounces in the last hour.</p>
    </article>
    <article class="panel" id="queue-list" data-state="loading">
      <h2>Messages in the queue</h2>
      <table class="grid">
        <thead><tr><th>Queue ID</th><th>Received</th><th>Sender</th><th>Recipients</th><th>Attempts</th><th>Next attempt</th></tr></thead>
        <tbody></tbody>
      </table>
      <p class="muted" id="queue-empty" hidden>The queue is empty.</p>
    </article>
  </section>

  <section id="view-events" class="view" hidden>
    <form id="search-form" class="panel search">
      <h1>Event search</h1>
      <div class="fields">
        <label>Recipient <input name="recipient" id="search-recipient" type="search" autocomplete="off"></label>
        <label>Sender <input name="sender" id="search-sender" type="search" autocomplete="off"></label>
        <label>Queue ID <input name="queueId" id="search-queue-id" type="search" autocomplete="off"></label>
        <label>Type
          <select name="type" id="search-type">
            <option value="">any</option>
            <option>accepted</option><option>delivered</option><option>deferred</option><option>bounced</option>
            <option>complained</option><option>suppressed</option><option>failed</option>
          </select>
        </label>
        <label>Since <input name="since" id="search-since" type="datetime-local"></label>
        <label>Limit <input name="limit" id="search-limit" type="number" min="1" max="10000" value="200"></label>
      </div>
      <button type="submit" id="search-submit">Search</button>
      <button type="reset" id="search-reset">Clear</button>
    </form>
    <article class="panel" id="events" data-state="idle">
      <p id="events-summary" class="muted"></p>
      <table class="grid" id="events-table">
        <thead><tr><th>Time</th><th>Type</th><th>Recipient</th><th>Sender</th><th>Queue ID</th><th>Code</th><th>Reply</th></tr></thead>
        <tbody></tbody>
      </table>
      <button type="button" id="events-more" hidden>Older events</button>
    </article>
  </section>

  <section id="view-message" class="view" hidden>
    <article class="panel" id="message-detail" data-state="loading">
      <h1>Message <span id="message-id" class="mono"></span></h1>
      <h2>Envelope</h2>
      <dl class="facts" id="message-envelope"></dl>
      <h2>Recipients</h2>
      <div id="message-recipients"></div>
      <h2>Headers</h2>
      <pre id="message-headers" class="mono block"></pre>
    </article>
  </section>

  <section id="view-suppressions" class="view" hidden>
    <form id="suppression-form" class="panel search">
      <h1>Suppressions</h1>
      <div class="fields">
        <label>Tenant <input name="tenant" id="suppression-tenant" value="default" autocomplete="off" list="known-tenants"></label>
      </div>
      <datalist id="known-tenants"></datalist>
      <button type="submit">Show</button>
    </form>
    <article class="panel" id="suppressions" data-state="idle">
      <table class="grid">
        <thead><tr><th>Address</th><th>Reason</th><th>Since</th></tr></thead>
        <tbody></tbody>
      </table>
      <p class="muted" id="suppressions-empty" hidden>No suppressed addresses for this tenant.</p>
    </article>
  </section>

  <section id="view-webhooks" class="view" hidden>
    <article class="panel" id="webhooks" data-state="loading">
      <h1>Webhook endpoints</h1>
      <div id="webhook-list"></div>
      <div id="webhook-failure-section" hidden>
        <h2>Recent failures</h2>
        <div id="webhook-failures"></div>
      </div>
    </article>
  </section>

  <section id="view-domains" class="view" hidden>
    <article class="panel" id="domains" data-state="loading">
      <h1>Sending domains</h1>
      <div id="domain-list"></div>
    </article>
  </section>
</main>
<footer id="status-line" class="muted" role="status"></footer>
</body>
</html>
"""#
}
