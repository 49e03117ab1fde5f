extension DashboardAssets {
    /// The dashboard's style sheet.
    /// Edited here, as a raw string; served as `/ui/app.css`.
    static let styleText = #"""
:root {
  --bg: #f4f6f9; --panel: #fff; --ink: #1c2430; --muted: #5d6b7d; --line: #d9dfe7; --accent: #1f5fa8;
  --ok: #1e7b3c; --warn: #a86500; --bad: #b3261e;
  --accepted: #6c7a89; --delivered: #1e7b3c; --deferred: #d08a00; --bounced: #b3261e;
  --complained: #7b3fa0; --suppressed: #3d6f8e; --failed: #5a1a16;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: var(--ink); background: var(--bg);
}
[hidden] { display: none !important; }
body { margin: 0; }
.topbar { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.2rem; background: #14263d; color: #fff; }
.topbar .brand { font-weight: 700; font-size: 1.1rem; letter-spacing: .02em; }
.topbar nav { display: flex; gap: .2rem; flex: 1; }
.topbar nav a { color: #c9d6e6; text-decoration: none; padding: .3rem .7rem; border-radius: 4px; }
.topbar nav a.active, .topbar nav a:hover { background: #24406a; color: #fff; }
.topbar .muted { color: #9fb3c8; }
main { padding: 1rem 1.2rem; max-width: 1400px; margin: 0 auto; }
h1 { font-size: 1.3rem; margin: 0 0 .6rem; }
h2 { font-size: 1rem; margin: .2rem 0 .5rem; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .9rem 1rem; margin-bottom: 1rem; }
.panel.narrow { max-width: 420px; margin: 3rem auto; display: flex; flex-direction: column; gap: .5rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 1rem; }
.cards .panel { margin-bottom: 0; }
.cards + .panel { margin-top: 1rem; }
.big { font-size: 2.6rem; font-weight: 700; margin: .2rem 0; }
.muted { color: var(--muted); }
.error { color: var(--bad); }
.unavailable { color: var(--muted); font-style: italic; }
.mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: .92em; }
pre.block { background: #f0f3f7; border: 1px solid var(--line); padding: .6rem; overflow: auto; max-height: 24rem; white-space: pre-wrap; word-break: break-all; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; overflow-wrap: anywhere; }
table.grid { width: 100%; border-collapse: collapse; margin-top: .4rem; }
table.grid th, table.grid td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
table.grid th { font-weight: 600; color: var(--muted); font-size: .9em; }
table.grid td { overflow-wrap: anywhere; }
table.grid tbody tr.clickable { cursor: pointer; }
table.grid tbody tr.clickable:hover { background: #eef3fa; }
.badge { display: inline-block; white-space: nowrap; padding: 0 .45rem; border-radius: 9px; font-size: .85em; color: #fff; background: var(--muted); }
.badge.ok, .badge.delivered, .badge.verified, .badge.healthy { background: var(--ok); }
.badge.warn, .badge.deferred, .badge.pending, .badge.draining { background: var(--warn); }
.badge.bad, .badge.bounced, .badge.failed, .badge.failing, .badge.unhealthy { background: var(--bad); }
.badge.accepted { background: var(--accepted); }
.badge.complained { background: var(--complained); }
.badge.suppressed { background: var(--suppressed); }
.tiles { display: flex; flex-wrap: wrap; gap: .6rem; margin-bottom: .6rem; }
.tile { border: 1px solid var(--line); border-radius: 5px; padding: .4rem .8rem; min-width: 7rem; }
.tile .n { font-size: 1.5rem; font-weight: 700; display: block; }
.tile.warn { border-color: var(--warn); } .tile.warn .n { color: var(--warn); }
.tile.bad { border-color: var(--bad); } .tile.bad .n { color: var(--bad); }
.chart { width: 100%; height: auto; max-height: 260px; display: block; background: #fbfcfe; border: 1px solid var(--line); border-radius: 4px; }
.chart .axis { stroke: #9aa7b6; stroke-width: 1; }
.chart .gridline { stroke: #e3e8ef; stroke-width: 1; }
.chart .label { fill: #5d6b7d; font-size: 11px; }
.chart .line { fill: none; stroke: var(--accent); stroke-width: 2; }
.chart .area { fill: rgba(31, 95, 168, .12); stroke: none; }
.chart .dot { fill: var(--accent); }
.chart .bar-accepted { fill: var(--accepted); }
.chart .bar-delivered { fill: var(--delivered); }
.chart .bar-deferred { fill: var(--deferred); }
.chart .bar-bounced { fill: var(--bounced); }
.chart .bar-complained { fill: var(--complained); }
.chart .bar-suppressed { fill: var(--suppressed); }
.chart .bar-failed { fill: var(--failed); }
.legend span { margin-right: 1rem; }
.swatch { display: inline-block; width: .8em; height: .8em; border-radius: 2px; margin-right: .3em; vertical-align: -1px; }
.swatch.accepted { background: var(--accepted); } .swatch.delivered { background: var(--delivered); }
.swatch.deferred { background: var(--deferred); } .swatch.bounced { background: var(--bounced); }
.swatch.complained { background: var(--complained); } .swatch.suppressed { background: var(--suppressed); }
.swatch.failed { background: var(--failed); }
form.search .fields { display: flex; flex-wrap: wrap; gap: .6rem 1rem; margin-bottom: .6rem; }
form.search label { display: flex; flex-direction: column; font-size: .9em; color: var(--muted); }
input, select, button { font: inherit; padding: .3rem .5rem; border: 1px solid #b8c2cf; border-radius: 4px; background: #fff; color: var(--ink); }
button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
button[type=reset], #sign-out { background: #fff; color: var(--accent); }
.history { margin: .3rem 0 .8rem; }
.history li { margin: .15rem 0; }
.reply { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: .9em; }
#events-more { margin-top: .6rem; }
footer { padding: .5rem 1.2rem; font-size: .85em; }
"""#
}
