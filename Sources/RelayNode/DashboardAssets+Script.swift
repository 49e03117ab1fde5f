extension DashboardAssets {
    /// The dashboard's script (no dependencies): sign-in, polling, charts, search and detail views.
    /// Edited here, as a raw string; served as `/ui/app.js`.
    static let scriptText = #"""
// Sendarix dashboard. Served from the node binary under /ui/; talks only to this node's admin API
// with the token the operator typed (kept in sessionStorage, i.e. this tab only). Every value from
// the API is put into the page as text (textContent), never as markup.
'use strict';
(function () {
  const TOKEN_KEY = 'sendarix.adminToken';
  const HISTORY_KEY = 'sendarix.queueHistory';
  const OUTCOMES = ['accepted', 'delivered', 'deferred', 'bounced', 'complained', 'suppressed', 'failed'];
  const BLOCK_CLASSES = new Set(['reputation-block', 'spam-content', 'policy', 'auth-failure', 'rate-limited']);
  const SAMPLE_MS = 5000;
  const OUTCOME_MS = 30000;
  const HISTORY_POINTS = 720;
  const SVGNS = 'http://www.w3.org/2000/svg';
  const $ = (selector, root) => (root || document).querySelector(selector);

  // ---- DOM helpers --------------------------------------------------------------------------
  function append(node, children) {
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') node.textContent = String(v);
      else if (k === 'class') node.className = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    return append(node, children);
  }
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }
  function badge(text, kind) { return el('span', { class: 'badge ' + (kind || text), text: text }); }
  function fmtTime(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    return isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
  }
  function clock(ms) { return new Date(ms).toLocaleTimeString(); }
  function fmtBytes(n) {
    if (typeof n !== 'number') return String(n);
    const units = ['B', 'KiB', 'MiB', 'GiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : String(n)) + ' ' + units[i];
  }
  function pct(part, whole) { return whole ? (100 * part / whole).toFixed(2) + ' %' : '–'; }
  function facts(dl, rows) {
    dl.replaceChildren();
    for (const [k, v] of rows) {
      if (v === undefined || v === null || v === '') continue;
      append(dl, [el('dt', { text: k }), el('dd', {}, v)]);
    }
  }
  function rows(tbody, items, render) {
    tbody.replaceChildren(...items.map(render));
  }
  function messageLink(id) {
    return el('a', { href: '#/message/' + encodeURIComponent(id), class: 'mono', 'data-queue-id': id, text: id });
  }
  function code(ev) {
    return [ev.smtpCode, ev.enhancedCode].filter(x => x !== undefined && x !== null && x !== '').join(' ');
  }
  /// The remote reply of an outcome event: its text, led by the codes unless the text has them.
  function replyText(e) {
    const response = e.response || '';
    if (e.smtpCode && response.startsWith(String(e.smtpCode))) return response;
    return [code(e), response].filter(Boolean).join(' ');
  }
  function status(text) { $('#status-line').textContent = text; }

  // ---- API --------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }
  function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

  /// GET on the admin API with the bearer token; JSON (or text) of a 2xx answer, else ApiError.
  async function api(path, opts) {
    opts = opts || {};
    let res;
    try {
      res = await fetch(path, {
        headers: { Authorization: 'Bearer ' + token() },
        cache: 'no-store', credentials: 'omit', redirect: 'error',
      });
    } catch (e) {
      throw new ApiError(0, 'the node did not answer (' + e.message + ')');
    }
    if (res.status === 401 && !opts.keepToken) {
      signOut('The node refused the token (HTTP 401). Sign in again.');
      throw new ApiError(401, 'missing or wrong bearer token');
    }
    if (!res.ok && !(opts.okStatuses || []).includes(res.status)) {
      let message = res.statusText || 'HTTP ' + res.status;
      try {
        const body = await res.json();
        if (body && body.error) message = body.error;
      } catch (_) { /* not JSON */ }
      throw new ApiError(res.status, message);
    }
    return opts.text ? res.text() : res.json();
  }

  /// Shows (or clears, with no error) a panel's problem line: "not available" when this node has
  /// no such API (404, 501, 503), an error otherwise. Sets the panel's data-state accordingly.
  function report(panel, what, err) {
    let p = panel.querySelector(':scope > .problem');
    if (!err) {
      if (p) p.hidden = true;
      return;
    }
    if (!p) {
      p = el('p', { class: 'problem', role: 'alert' });
      const heading = panel.querySelector(':scope > h1, :scope > h2');
      if (heading) heading.after(p); else panel.prepend(p);
    }
    const unavailable = [404, 501, 503].includes(err.status);
    p.className = 'problem ' + (unavailable ? 'unavailable' : 'error');
    p.textContent = unavailable
      ? what + ': not available on this node (HTTP ' + err.status + ': ' + err.message + ')'
      : what + ': could not be loaded (' + (err.status ? 'HTTP ' + err.status + ': ' : '') + err.message + ')';
    p.hidden = false;
    panel.dataset.state = unavailable ? 'unavailable' : 'error';
  }

  // ---- Sign-in ----------------------------------------------------------------------------
  function showLogin(message) {
    for (const s of document.querySelectorAll('main > .view')) s.hidden = s.id !== 'login';
    $('#nav').hidden = true;
    $('#sign-out').hidden = true;
    $('#node-name').textContent = '';
    $('#login-error').textContent = message || '';
    $('#token-input').focus();
  }

  async function signIn(event) {
    event.preventDefault();
    const value = $('#token-input').value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    try {
      await api('/v1/queue?limit=1', { keepToken: true });
    } catch (e) {
      sessionStorage.removeItem(TOKEN_KEY);
      $('#login-error').textContent = e.status === 401
        ? 'The node refused this token (HTTP 401).'
        : 'The admin API did not answer: ' + e.message;
      return;
    }
    $('#token-input').value = '';
    $('#login-error').textContent = '';
    startPolling();
    route();
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    stopPolling();
    showLogin(message);
  }

  // ---- Routing: #/view/arg?params ---------------------------------------------------------
  const views = {
    overview: showOverview, events: showEvents, message: showMessage,
    suppressions: showSuppressions, webhooks: showWebhooks, domains: showDomains,
  };
  let current = '';

  function parseHash() {
    const h = location.hash.replace(/^#\/?/, '');
    const q = h.indexOf('?');
    const path = q < 0 ? h : h.slice(0, q);
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    const view = views[parts[0]] ? parts[0] : 'overview';
    return { view: view, arg: parts[1], params: new URLSearchParams(q < 0 ? '' : h.slice(q + 1)) };
  }

  function route() {
    if (!token()) { showLogin(); return; }
    const r = parseHash();
    current = r.view;
    for (const s of document.querySelectorAll('main > .view')) s.hidden = s.id !== 'view-' + r.view;
    $('#nav').hidden = false;
    $('#sign-out').hidden = false;
    const tab = r.view === 'message' ? 'events' : r.view;
    for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.view === tab);
    views[r.view](r.arg, r.params);
  }

  // ---- Polling ----------------------------------------------------------------------------
  let sampleTimer = null;
  let lastOutcomes = 0;
  function startPolling() {
    stopPolling();
    sampleTimer = setInterval(tick, SAMPLE_MS);
    loadServerHistory();
    sampleQueue();
  }
  function stopPolling() {
    if (sampleTimer) clearInterval(sampleTimer);
    sampleTimer = null;
  }
  function tick() {
    if (document.hidden || !token()) return;
    sampleQueue();
    if (current === 'overview') {
      refreshHealth();
      refreshCluster();
      if (Date.now() - lastOutcomes >= OUTCOME_MS) refreshOutcomes();
    }
  }

  // ---- Overview ---------------------------------------------------------------------------
  function showOverview() {
    refreshHealth();
    refreshCluster();
    refreshOutcomes();
    drawQueueChart();
  }

  async function refreshHealth() {
    const panel = $('#node-health');
    try {
      const h = await api('/health', { okStatuses: [503] });
      const mem = h.bodyMemory;
      facts($('#node-facts'), [
        ['Node', el('span', { class: 'mono', id: 'health-node', text: h.node })],
        ['Status', badge(h.status, h.status === 'ok' ? 'ok' : 'draining')],
        ['Queue', h.queue],
        ['Body memory', mem ? fmtBytes(mem.inUseBytes) + ' of ' + fmtBytes(mem.limitBytes) : undefined],
        ['Advertised in DNS', h.advertised === undefined ? undefined : (h.advertised ? 'yes' : 'no (withdrawn)')],
        ['Raft', h.raft ? h.raft.role + ', term ' + h.raft.term + ', leader ' + (h.raft.leader || 'none') : undefined],
      ]);
      $('#node-name').textContent = 'node ' + h.node;
      const table = $('#peer-table');
      table.hidden = !(h.peers && h.peers.length);
      rows($('tbody', table), h.peers || [], p => el('tr', {},
        el('td', { class: 'mono', text: p.id }), el('td', { class: 'mono', text: p.address }),
        el('td', {}, badge(p.healthy ? 'healthy' : 'unhealthy')), el('td', { text: fmtTime(p.lastContact) }),
        el('td', { text: p.lastError || '' })));
      report(panel, 'Node health', null);
      panel.dataset.state = 'loaded';
      status('Updated ' + clock(Date.now()));
    } catch (e) {
      report(panel, 'Node health', e);
    }
  }

  async function refreshCluster() {
    const panel = $('#cluster-card');
    try {
      const c = await api('/v1/cluster/status');
      const table = $('#raft-peers');
      if (c.mode === 'single-node') {
        facts($('#cluster-facts'), [['Mode', 'single node'], ['Node', c.node]]);
        table.hidden = true;
      } else {
        facts($('#cluster-facts'), [
          ['This node', c.id], ['Role', c.role], ['Leader', c.leader || 'none (election)'],
          ['Quorum', badge(c.hasQuorum ? 'yes' : 'no', c.hasQuorum ? 'ok' : 'bad')], ['Term', c.term],
          ['Commit / applied', c.commit + ' / ' + c.applied], ['Voters', (c.voters || []).join(', ')],
          ['Learners', (c.learners || []).join(', ')], ['Pending proposals', c.pendingProposals],
        ]);
        table.hidden = !(c.peers && c.peers.length);
        rows($('tbody', table), c.peers || [], p => el('tr', {},
          el('td', { class: 'mono', text: p.id + (p.learner ? ' (learner)' : '') }), el('td', { class: 'mono', text: p.address }),
          el('td', {}, badge(p.connected ? 'yes' : 'no', p.connected ? 'ok' : 'bad')), el('td', { text: p.match }),
          el('td', { text: p.lag }), el('td', { text: p.lastError || '' })));
      }
      report(panel, 'Cluster status', null);
      panel.dataset.state = 'loaded';
    } catch (e) {
      report(panel, 'Cluster status', e);
    }
  }

  function loadHistory() {
    try {
      const h = JSON.parse(sessionStorage.getItem(HISTORY_KEY) || '[]');
      return Array.isArray(h) ? h : [];
    } catch (_) { return []; }
  }
  let history = loadHistory();

  /// Merges the node's own samples of the last hour (GET /v1/queue-depth) into the chart's.
  async function loadServerHistory() {
    const panel = $('#queue-history');
    try {
      const r = await api('/v1/queue-depth');
      const seen = new Set(history.map(p => p[0]));
      for (const p of r.samples || []) if (!seen.has(p[0])) history.push([p[0], p[1]]);
      history.sort((a, b) => a[0] - b[0]);
      if (history.length > HISTORY_POINTS) history = history.slice(-HISTORY_POINTS);
      sessionStorage.setItem(HISTORY_KEY, JSON.stringify(history));
      $('#queue-history-note').textContent = 'The node samples its queue every ' + r.intervalSeconds
        + ' s and keeps the last hour; this page adds a sample every ' + SAMPLE_MS / 1000 + ' s.';
      panel.dataset.server = 'true';
    } catch (e) {
      $('#queue-history-note').textContent = 'This node keeps no queue history (HTTP ' + e.status + ': ' + e.message
        + '); the chart shows the samples this page took, every ' + SAMPLE_MS / 1000 + ' s.';
      panel.dataset.server = 'false';
    }
    drawQueueChart();
  }

  async function sampleQueue() {
    const card = $('#queue-card');
    const list = $('#queue-list');
    try {
      const q = await api('/v1/queue?limit=50');
      history.push([Date.now(), q.count]);
      if (history.length > HISTORY_POINTS) history = history.slice(-HISTORY_POINTS);
      sessionStorage.setItem(HISTORY_KEY, JSON.stringify(history));
      $('#queue-count').textContent = String(q.count);
      report(card, 'Queue', null);
      card.dataset.state = 'loaded';
      rows($('tbody', list), q.messages || [], m => el('tr', { class: 'clickable', 'data-queue-id': m.queueId, onclick: () => openMessage(m.queueId) },
        el('td', {}, messageLink(m.queueId)), el('td', { text: fmtTime(m.receivedAt) }), el('td', { text: m.sender }),
        el('td', { text: (m.recipients || []).map(r => r.address + ' (' + r.status + ')').join(', ') }),
        el('td', { text: m.attempts }), el('td', { text: fmtTime(m.nextAttemptAt) })));
      $('#queue-empty').hidden = (q.messages || []).length > 0;
      report(list, 'Queue', null);
      list.dataset.state = 'loaded';
      drawQueueChart();
    } catch (e) {
      report(card, 'Queue', e);
      report(list, 'Queue', e);
    }
  }

  function niceCeiling(v) {
    if (v <= 5) return 5;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  /// Axes, grid lines and labels of a chart; returns the scale functions.
  function frame(chart, t0, t1, ymax) {
    const W = 800, H = 200, L = 48, R = 12, T = 10, B = 24;
    const x = t => L + (t - t0) / Math.max(1, t1 - t0) * (W - L - R);
    const y = v => T + (1 - v / ymax) * (H - T - B);
    for (const v of [0, ymax / 2, ymax]) {
      chart.append(svg('line', { class: 'gridline', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
      chart.append(svg('text', { class: 'label', x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, Number.isInteger(v) ? v : v.toFixed(1)));
    }
    chart.append(svg('line', { class: 'axis', x1: L, x2: L, y1: T, y2: H - B }));
    chart.append(svg('line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }));
    chart.append(svg('text', { class: 'label', x: L, y: H - 6 }, clock(t0)));
    chart.append(svg('text', { class: 'label', x: W - R, y: H - 6, 'text-anchor': 'end' }, clock(t1)));
    return { x: x, y: y, bottom: H - B, plotWidth: W - L - R };
  }

  function drawQueueChart() {
    const chart = $('#queue-chart');
    chart.replaceChildren();
    const now = Date.now();
    const points = history.filter(p => p[0] >= now - HISTORY_POINTS * SAMPLE_MS);
    const t0 = Math.min(points.length ? points[0][0] : now, now - 5 * 60 * 1000);
    const ymax = niceCeiling(Math.max(1, ...points.map(p => p[1])));
    const s = frame(chart, t0, now, ymax);
    chart.dataset.points = String(points.length);
    if (!points.length) {
      chart.append(svg('text', { class: 'label', x: 400, y: 100, 'text-anchor': 'middle' }, 'waiting for the first sample'));
      return;
    }
    const coords = points.map(p => s.x(p[0]).toFixed(1) + ',' + s.y(p[1]).toFixed(1));
    chart.append(svg('path', {
      class: 'area',
      d: 'M' + s.x(points[0][0]).toFixed(1) + ',' + s.bottom + ' L' + coords.join(' L') + ' L' + s.x(points[points.length - 1][0]).toFixed(1) + ',' + s.bottom + ' Z',
    }));
    chart.append(svg('polyline', { class: 'line', points: coords.join(' ') }));
    const last = points[points.length - 1];
    chart.append(svg('circle', { class: 'dot', cx: s.x(last[0]), cy: s.y(last[1]), r: 3.5 }));
    $('#queue-history').dataset.state = 'loaded';
  }

  // Outcome rates and the provider table, from the last hour of events.
  let providerSuffixes = null;
  async function loadProviderSuffixes() {
    if (providerSuffixes) return providerSuffixes;
    try {
      const res = await fetch('providers.json', { cache: 'no-cache' });
      providerSuffixes = (await res.json()).suffixes || [];
    } catch (_) {
      providerSuffixes = [];
    }
    return providerSuffixes;
  }
  function providerOf(ev, suffixes) {
    const host = (ev.remoteHost || '').replace(/\[.*$/, '').toLowerCase().replace(/\.$/, '');
    if (host) {
      for (const [suffix, name] of suffixes) if (host === suffix || host.endsWith('.' + suffix)) return name;
    }
    const at = (ev.recipient || '').lastIndexOf('@');
    return at >= 0 ? ev.recipient.slice(at + 1).toLowerCase() : 'unknown';
  }

  const knownTenants = new Set(['default']);

  /// Outcome counts, per-minute bars and rates of the last hour: from the node's aggregates
  /// (GET /v1/events/stats) where it has them, else counted from the events themselves. The
  /// provider table always groups the deferred and bounced events.
  async function refreshOutcomes() {
    lastOutcomes = Date.now();
    const panel = $('#rates');
    const provPanel = $('#providers');
    const now = Date.now();
    const since = now - 3600 * 1000;
    try {
      const [r, suffixes, stats] = await Promise.all([
        api('/v1/events?limit=10000&since=' + since), loadProviderSuffixes(),
        api('/v1/events/stats?resolution=minute&from=' + since + '&to=' + (now + 1)).catch(e => {
          if (e.status === 404 || e.status === 400) return null; // an older node: count the events here
          throw e;
        }),
      ]);
      const events = r.events.filter(e => OUTCOMES.includes(e.type));
      if (stats) {
        const rows = (stats.buckets || []).filter(b => OUTCOMES.includes(b.type))
          .map(b => ({ t: Date.parse(b.start), type: b.type, count: b.count }));
        drawOutcomes(stats.totals || {}, rows, since, now, false, stats.deliveryLatency);
      } else {
        const counts = {};
        for (const e of events) counts[e.type] = (counts[e.type] || 0) + 1;
        drawOutcomes(counts, events.map(e => ({ t: Date.parse(e.timestamp), type: e.type, count: 1 })), since, now,
          r.events.length >= 10000, null);
      }
      panel.dataset.source = stats ? 'stats' : 'events';
      drawProviders(events, suffixes);
      for (const e of r.events) if (e.tenant) knownTenants.add(e.tenant);
      report(panel, 'Outcome rates', null);
      report(provPanel, 'Provider table', null);
      panel.dataset.state = 'loaded';
      provPanel.dataset.state = 'loaded';
    } catch (e) {
      report(panel, 'Outcome rates', e);
      report(provPanel, 'Provider table', e);
    }
  }

  function tile(type, value, label, level) {
    return el('div', { class: 'tile' + (level ? ' ' + level : ''), 'data-type': type }, el('span', { class: 'n', text: value }), label);
  }

  /// Tiles and the stacked per-minute chart. `totals`: count per type; `rows`: {t, type, count}.
  function drawOutcomes(totals, rows, since, now, capped, latency) {
    const counts = Object.fromEntries(OUTCOMES.map(t => [t, Number(totals[t] || 0)]));
    const finals = counts.delivered + counts.bounced;
    const tiles = OUTCOMES.map(t => el('div', { class: 'tile', 'data-type': t },
      el('span', { class: 'n', text: counts[t] + (capped ? '+' : '') }), el('span', {}, el('span', { class: 'swatch ' + t }), t)));
    tiles.push(tile('delivery-rate', pct(counts.delivered, finals), 'delivered of final outcomes'));
    // Thresholds: Amazon SES reviews at a 5 % bounce rate and pauses at 10 %; Gmail and Yahoo
    // want a spam rate below 0.3 % (ideally 0.1 %).
    const bounceRate = finals ? counts.bounced / finals : 0;
    tiles.push(tile('bounce-rate', pct(counts.bounced, finals), 'bounce rate (SES: review at 5 %)',
      bounceRate >= 0.10 ? 'bad' : bounceRate >= 0.05 ? 'warn' : ''));
    const complaintRate = counts.delivered ? counts.complained / counts.delivered : 0;
    tiles.push(tile('complaint-rate', pct(counts.complained, counts.delivered), 'complaints (Gmail: keep below 0.3 %)',
      complaintRate >= 0.003 ? 'bad' : complaintRate >= 0.001 ? 'warn' : ''));
    if (latency && latency.count) {
      const sec = v => (v === null || v === undefined) ? '> max' : (v < 1 ? (v * 1000).toFixed(0) + ' ms' : v.toFixed(1) + ' s');
      tiles.push(tile('latency', sec(latency.p50Seconds) + ' / ' + sec(latency.p90Seconds) + ' / ' + sec(latency.p99Seconds),
        'delivery latency p50 / p90 / p99'));
    }
    $('#rate-tiles').replaceChildren(...tiles);

    // Per-minute stacked bars.
    const chart = $('#rates-chart');
    chart.replaceChildren();
    const minute = 60000;
    const start = Math.floor(since / minute) * minute;
    const buckets = [];
    for (let t = start; t <= now; t += minute) buckets.push(Object.fromEntries(OUTCOMES.map(k => [k, 0])));
    for (const r of rows) {
      const i = Math.floor((r.t - start) / minute);
      if (i >= 0 && i < buckets.length) buckets[i][r.type] += r.count;
    }
    const ymax = niceCeiling(Math.max(1, ...buckets.map(b => OUTCOMES.reduce((s, k) => s + b[k], 0))));
    const s = frame(chart, start, start + buckets.length * minute, ymax);
    const w = Math.max(1, s.plotWidth / buckets.length - 1);
    buckets.forEach((b, i) => {
      let base = 0;
      for (const k of OUTCOMES) {
        if (!b[k]) continue;
        const top = s.y(base + b[k]);
        chart.append(svg('rect', { class: 'bar-' + k, x: s.x(start + i * minute).toFixed(1), y: top.toFixed(1), width: w.toFixed(1), height: (s.y(base) - top).toFixed(1) }));
        base += b[k];
      }
    });
    chart.dataset.events = String(rows.reduce((n, r) => n + r.count, 0));
    $('#rates-legend').replaceChildren(...OUTCOMES.map(k => el('span', {}, el('span', { class: 'swatch ' + k }), k)));
  }

  function drawProviders(events, suffixes) {
    const groups = new Map();
    for (const e of events) {
      if (e.type !== 'deferred' && e.type !== 'bounced') continue;
      const name = providerOf(e, suffixes);
      let g = groups.get(name);
      if (!g) { g = { name: name, domains: new Set(), deferred: 0, bounced: 0, blocks: 0, last: null }; groups.set(name, g); }
      const at = (e.recipient || '').lastIndexOf('@');
      if (at >= 0) g.domains.add(e.recipient.slice(at + 1));
      g[e.type]++;
      if (BLOCK_CLASSES.has(e.bounceClass)) g.blocks++;
      if (!g.last || e.timestamp > g.last.timestamp) g.last = e;
    }
    const list = [...groups.values()].sort((a, b) => (b.deferred + b.bounced) - (a.deferred + a.bounced));
    rows($('#providers tbody'), list, g => el('tr', { 'data-provider': g.name },
      el('td', { text: g.name }), el('td', { text: [...g.domains].join(', ') }), el('td', { text: g.deferred }),
      el('td', { text: g.bounced }), el('td', { text: g.blocks }),
      el('td', { class: 'reply', text: g.last ? replyText(g.last) : '' })));
    $('#providers-empty').hidden = list.length > 0;
  }

  // ---- Events -----------------------------------------------------------------------------
  const SEARCH_FIELDS = ['recipient', 'sender', 'queueId', 'type', 'since', 'limit'];

  function openMessage(id) { location.hash = '#/message/' + encodeURIComponent(id); }

  async function showEvents(_, params) {
    const form = $('#search-form');
    for (const f of SEARCH_FIELDS) if (form.elements[f]) form.elements[f].value = params.get(f) || (f === 'limit' ? '200' : '');
    const query = new URLSearchParams();
    for (const f of SEARCH_FIELDS) {
      const v = (params.get(f) || '').trim();
      if (!v) continue;
      if (f === 'since') {
        const ms = new Date(v).getTime();
        if (!isNaN(ms)) query.set('since', String(ms));
      } else {
        query.set(f, v);
      }
    }
    if (!query.has('limit')) query.set('limit', '200');
    const panel = $('#events');
    panel.dataset.state = 'loading';
    panel.dataset.query = query.toString();
    $('#events-summary').textContent = 'Searching…';
    $('#events-more').hidden = true;
    try {
      const r = await api('/v1/events?' + query.toString());
      if (panel.dataset.query !== query.toString()) return; // a newer search started meanwhile
      rows($('#events-table tbody'), r.events, eventRow);
      panel.dataset.pages = '1';
      showMore(r.cursor);
      const filters = [...query.entries()].filter(([k]) => k !== 'limit').map(([k, v]) => k + '=' + v);
      $('#events-summary').textContent = r.events.length + ' event' + (r.events.length === 1 ? '' : 's') + ', newest first'
        + (filters.length ? ' (' + filters.join(', ') + ')' : '')
        + (r.events.length >= Number(query.get('limit')) && !r.cursor ? ' — limit reached' : '');
      report(panel, 'Events', null);
      panel.dataset.state = 'loaded';
    } catch (e) {
      $('#events-summary').textContent = '';
      $('#events-table tbody').replaceChildren();
      report(panel, 'Event search', e);
    }
  }

  function eventRow(e) {
    return el('tr', {
      class: 'clickable', 'data-queue-id': e.queueId, 'data-recipient': e.recipient, 'data-type': e.type,
      onclick: ev => { if (!(ev.target instanceof HTMLAnchorElement)) openMessage(e.queueId); },
    },
      el('td', { text: fmtTime(e.timestamp) }), el('td', {}, badge(e.type)), el('td', { text: e.recipient }),
      el('td', { text: e.sender }), el('td', {}, e.queueId ? messageLink(e.queueId) : ''),
      el('td', { text: code(e) }), el('td', { class: 'reply', text: [e.response, e.remoteHost ? 'from ' + e.remoteHost : ''].filter(Boolean).join(' ') }));
  }

  /// The "Older events" button, shown when the node's search returned a cursor (more results).
  function showMore(cursor) {
    const button = $('#events-more');
    button.hidden = !cursor;
    button.dataset.cursor = cursor || '';
  }

  async function loadMore() {
    const panel = $('#events');
    const button = $('#events-more');
    const query = new URLSearchParams(panel.dataset.query);
    query.set('cursor', button.dataset.cursor);
    panel.dataset.state = 'loading';
    button.disabled = true;
    try {
      const r = await api('/v1/events?' + query.toString());
      $('#events-table tbody').append(...r.events.map(eventRow));
      panel.dataset.pages = String(Number(panel.dataset.pages || '1') + 1);
      showMore(r.cursor);
      const n = $('#events-table tbody').rows.length;
      $('#events-summary').textContent = n + ' events in ' + panel.dataset.pages + ' pages, newest first';
      report(panel, 'Events', null);
      panel.dataset.state = 'loaded';
    } catch (e) {
      report(panel, 'Older events', e);
    } finally {
      button.disabled = false;
    }
  }

  function submitSearch(event) {
    event.preventDefault();
    const form = $('#search-form');
    const params = new URLSearchParams();
    for (const f of SEARCH_FIELDS) {
      const v = (form.elements[f].value || '').trim();
      if (v && !(f === 'limit' && v === '200')) params.set(f, v);
    }
    const hash = '#/events' + (params.toString() ? '?' + params.toString() : '');
    if (location.hash === hash) route(); else location.hash = hash;
  }

  // ---- Message detail ---------------------------------------------------------------------
  async function showMessage(id) {
    const panel = $('#message-detail');
    panel.dataset.state = 'loading';
    panel.dataset.queueId = id || '';
    $('#message-id').textContent = id || '';
    $('#message-envelope').replaceChildren();
    $('#message-recipients').replaceChildren();
    $('#message-headers').textContent = '';
    report(panel, 'Message', null);
    if (!id) { report(panel, 'Message', new ApiError(404, 'no queue ID given')); return; }
    const path = '/v1/queue/' + encodeURIComponent(id);
    const [m, ev, body] = await Promise.allSettled([
      api(path), api('/v1/events?limit=1000&queueId=' + encodeURIComponent(id)), api(path + '/body', { text: true }),
    ]);
    if (panel.dataset.queueId !== id) return;
    const msg = m.status === 'fulfilled' ? m.value : null;
    const events = ev.status === 'fulfilled' ? ev.value.events.slice().reverse() : [];
    if (!msg && !events.length) {
      const err = m.status === 'rejected' && m.reason.status !== 404 ? m.reason
        : new ApiError(404, 'no message and no events with queue ID ' + id);
      report(panel, 'Message', err);
      panel.dataset.state = 'missing';
      return;
    }
    const first = events.find(e => e.type === 'accepted') || events[0];
    facts($('#message-envelope'), msg ? [
      ['Queue ID', msg.queueId], ['Message-ID', msg.messageId], ['Tenant', msg.tenant], ['Authenticated as', msg.authUser],
      ['Client IP', msg.clientIP], ['Sender (MAIL FROM)', msg.sender || '<>'], ['Received', fmtTime(msg.receivedAt)],
      ['Size', fmtBytes(msg.size)], ['Attempts', msg.attempts], ['DSN envelope ID', msg.envid],
      ['Lease', msg.lease ? msg.lease.owner + ' (attempt ' + msg.lease.attempt + ', until ' + fmtTime(msg.lease.expiresAt) + ')' : undefined],
      ['State', badge('queued', 'warn')],
    ] : [
      ['Queue ID', id], ['Message-ID', first.messageId], ['Tenant', first.tenant], ['Sender (MAIL FROM)', first.sender || '<>'],
      ['Received', fmtTime(first.timestamp)],
      ['State', el('span', { class: 'muted', text: 'no longer in the queue; the envelope comes from its events' })],
    ]);
    if (ev.status === 'rejected') report(panel, 'Event history', ev.reason);

    // One block per recipient: its current state and every event, oldest first.
    const recipients = [];
    for (const r of (msg && msg.recipients) || []) if (!recipients.includes(r.address)) recipients.push(r.address);
    for (const e of events) if (e.recipient && !recipients.includes(e.recipient)) recipients.push(e.recipient);
    $('#message-recipients').replaceChildren(...recipients.map(address => {
      const queued = msg && (msg.recipients || []).find(r => r.address === address);
      const mine = events.filter(e => e.recipient === address);
      const last = mine.length ? mine[mine.length - 1] : null;
      const state = queued ? queued.status : (last ? last.type : 'unknown');
      const block = el('div', { class: 'recipient', 'data-recipient': address },
        el('h3', {}, el('span', { class: 'mono', text: address }), ' ', badge(state)));
      if (queued && queued.lastCode) {
        block.append(el('p', {}, 'Last reply: ', el('span', { class: 'reply', text: replyText({ smtpCode: queued.lastCode, enhancedCode: queued.lastEnhancedCode, response: queued.lastResponse }) }),
          queued.lastRemoteHost ? ' from ' + queued.lastRemoteHost : '', queued.nextAttemptAt ? '; next attempt ' + fmtTime(queued.nextAttemptAt) : ''));
      }
      block.append(el('ol', { class: 'history' }, ...mine.map(e => el('li', { 'data-type': e.type },
        fmtTime(e.timestamp), ' ', badge(e.type), e.attempt ? ' attempt ' + e.attempt : '',
        e.smtpCode || e.response ? el('span', {}, ' — remote reply ', el('span', { class: 'reply', text: replyText(e) })) : '',
        e.remoteHost ? ' from ' + e.remoteHost : '', e.bounceClass ? ' (' + e.bounceClass + ')' : ''))));
      if (!mine.length) block.append(el('p', { class: 'muted', text: 'No events for this recipient yet.' }));
      return block;
    }));

    const pre = $('#message-headers');
    if (body.status === 'fulfilled') {
      const text = body.value;
      const end = text.search(/\r?\n\r?\n/);
      pre.textContent = (end < 0 ? text : text.slice(0, end)).slice(0, 65536);
      pre.classList.remove('unavailable');
    } else if (body.reason.status === 404) {
      pre.textContent = 'The headers are kept only while the message is in the queue.';
      pre.classList.add('unavailable');
    } else {
      pre.textContent = 'The body could not be loaded: ' + body.reason.message;
      pre.classList.add('unavailable');
    }
    panel.dataset.state = 'loaded';
  }

  // ---- Suppressions -----------------------------------------------------------------------
  async function showSuppressions(_, params) {
    const tenant = params.get('tenant') || $('#suppression-tenant').value || 'default';
    $('#suppression-tenant').value = tenant;
    $('#known-tenants').replaceChildren(...[...knownTenants].map(t => el('option', { value: t })));
    const panel = $('#suppressions');
    panel.dataset.state = 'loading';
    panel.dataset.tenant = tenant;
    try {
      const r = await api('/v1/suppressions?tenant=' + encodeURIComponent(tenant));
      rows($('tbody', panel), r.suppressions, s => el('tr', { 'data-address': s.address },
        el('td', { class: 'mono', text: s.address }), el('td', { text: s.reason }), el('td', { text: fmtTime(s.createdAt) })));
      $('#suppressions-empty').hidden = r.suppressions.length > 0;
      report(panel, 'Suppressions', null);
      panel.dataset.state = 'loaded';
    } catch (e) {
      report(panel, 'Suppressions', e);
    }
  }

  function submitSuppressions(event) {
    event.preventDefault();
    const tenant = $('#suppression-tenant').value.trim() || 'default';
    const hash = '#/suppressions?tenant=' + encodeURIComponent(tenant);
    if (location.hash === hash) route(); else location.hash = hash;
  }

  // ---- Webhooks ---------------------------------------------------------------------------
  function pick(obj, names) {
    for (const n of names) if (obj && obj[n] !== undefined && obj[n] !== null) return obj[n];
    return undefined;
  }

  async function showWebhooks() {
    const panel = $('#webhooks');
    panel.dataset.state = 'loading';
    $('#webhook-list').replaceChildren();
    $('#webhook-failures').replaceChildren();
    $('#webhook-failure-section').hidden = true;
    let list;
    try {
      const r = await api('/v1/webhooks');
      list = Array.isArray(r) ? r : (r.webhooks || r.endpoints || []);
    } catch (e) {
      report(panel, 'Webhook endpoints', e);
      return;
    }
    report(panel, 'Webhook endpoints', null);
    $('#webhook-failure-section').hidden = false;
    const stateOf = w => {
      const s = pick(w, ['state', 'status']);
      if (s) return String(s);
      if (w.disabled) return 'disabled';
      if (w.paused) return 'paused';
      return w.failing ? 'failing' : 'active';
    };
    $('#webhook-list').replaceChildren(list.length ? el('table', { class: 'grid' },
      el('thead', {}, el('tr', {}, ...['ID', 'URL', 'Tenant', 'Events', 'Status', 'Pending', 'Failed', 'Delivered', 'Last failure']
        .map(h => el('th', { text: h })))),
      el('tbody', {}, ...list.map(w => {
        const state = stateOf(w);
        return el('tr', { 'data-webhook-id': w.id },
          el('td', { class: 'mono', text: w.id }), el('td', { class: 'mono', text: w.url }), el('td', { text: w.tenant }),
          el('td', { text: Array.isArray(w.events) && w.events.length ? w.events.join(', ') : 'all' }),
          el('td', {}, badge(state, ['failing', 'disabled'].includes(state) ? 'bad' : (state === 'paused' ? 'warn' : 'ok')),
            w.statusReason ? ' ' + w.statusReason : ''),
          el('td', { text: pick(w, ['pending', 'backlog']) ?? '' }), el('td', { text: w.failed ?? '' }),
          el('td', { text: w.delivered ?? '' }),
          el('td', { text: w.lastFailureAt ? fmtTime(w.lastFailureAt) + (w.consecutiveFailures ? ' (' + w.consecutiveFailures + ' in a row)' : '') : '' }));
      })))
      : el('p', { class: 'muted', text: 'No webhook endpoints.' }));

    // Failed attempts (no 2xx answer; status 0 is no answer at all) of the first 20 endpoints.
    const failures = [];
    let attemptsMissing = null;
    await Promise.all(list.slice(0, 20).map(async w => {
      try {
        const r = await api('/v1/webhooks/' + encodeURIComponent(w.id) + '/attempts?limit=50');
        for (const a of (Array.isArray(r) ? r : (r.attempts || []))) {
          const st = Number(pick(a, ['status', 'statusCode']));
          if (!(st >= 200 && st < 300)) failures.push({ endpoint: w, attempt: a, status: st });
        }
      } catch (e) {
        attemptsMissing = e;
      }
    }));
    const box = $('#webhook-failures');
    if (attemptsMissing && !failures.length) {
      report(box, 'Webhook attempt history', attemptsMissing);
    } else if (!failures.length) {
      box.replaceChildren(el('p', { class: 'muted', text: list.length ? 'No failed attempts.' : 'No endpoints, no attempts.' }));
    } else {
      const when = f => String(pick(f.attempt, ['at', 'timestamp']) || '');
      failures.sort((a, b) => when(b).localeCompare(when(a)));
      box.replaceChildren(el('table', { class: 'grid' },
        el('thead', {}, el('tr', {}, ...['Time', 'Endpoint', 'Event', 'Attempt', 'Status', 'Latency', 'Node', 'Response']
          .map(h => el('th', { text: h })))),
        el('tbody', {}, ...failures.map(f => el('tr', { 'data-webhook-id': f.endpoint.id },
          el('td', { text: fmtTime(when(f)) }), el('td', { class: 'mono', text: f.endpoint.url || f.endpoint.id }),
          el('td', { text: [f.attempt.eventType, f.attempt.webhookId].filter(Boolean).join(' ') }),
          el('td', { text: f.attempt.attempt ?? '' }),
          el('td', { text: f.status ? 'HTTP ' + f.status : 'no answer' }),
          el('td', { text: f.attempt.latencyMs !== undefined ? f.attempt.latencyMs + ' ms' : '' }),
          el('td', { text: f.attempt.node || '' }),
          el('td', { class: 'reply', text: pick(f.attempt, ['response', 'error']) ?? '' }))))));
    }
    panel.dataset.state = 'loaded';
  }

  // ---- Sending domains --------------------------------------------------------------------
  async function showDomains() {
    const panel = $('#domains');
    panel.dataset.state = 'loading';
    try {
      const r = await api('/v1/domains');
      const list = r.domains || [];
      $('#domain-list').replaceChildren(list.length ? el('table', { class: 'grid' },
        el('thead', {}, el('tr', {}, ...['Domain', 'Tenant', 'Status', 'Signing', 'Keys', 'Checked', 'Reason'].map(h => el('th', { text: h })))),
        el('tbody', {}, ...list.map(d => el('tr', { 'data-domain': d.domain },
          el('td', { class: 'mono', text: d.domain }), el('td', { text: d.tenant }), el('td', {}, badge(d.status)),
          el('td', { text: d.signing ? 'yes' : 'no' }),
          el('td', { class: 'mono', text: (d.keys || []).map(k => k.selector + ' (' + k.state + ')').join(', ') }),
          el('td', { text: fmtTime(d.checkedAt) }), el('td', { text: d.statusReason || '' })))))
        : el('p', { class: 'muted', text: 'No sending domains.' }));
      report(panel, 'Sending domains', null);
      panel.dataset.state = 'loaded';
    } catch (e) {
      $('#domain-list').replaceChildren();
      report(panel, 'Sending domains', e);
    }
  }

  // ---- Start ------------------------------------------------------------------------------
  document.addEventListener('DOMContentLoaded', () => {
    $('#login-form').addEventListener('submit', signIn);
    $('#search-form').addEventListener('submit', submitSearch);
    $('#search-form').addEventListener('reset', event => { event.preventDefault(); location.hash = '#/events'; });
    $('#suppression-form').addEventListener('submit', submitSuppressions);
    $('#events-more').addEventListener('click', loadMore);
    $('#sign-out').addEventListener('click', () => signOut('Signed out.'));
    window.addEventListener('hashchange', route);
    if (token()) startPolling();
    route();
    document.body.dataset.ready = 'true';
  });
}());
"""#
}
