import { formatAge } from '../util/format-age.js';
import type { ActionPolicy } from './access.js';
import { html, SafeHtml } from './html.js';
import type { ConnectionView, DashboardState } from './state.js';

/** The parts of the page the browser swaps in on each refresh (`GET /sections`). */
export function renderSections(state: DashboardState, policy: ActionPolicy): SafeHtml {
  const actions = policy.kind !== 'read-only';
  const now = state.generatedAt.getTime();
  return html`
<p class="meta">read ${state.generatedAt.toISOString()}${actions ? '' : html` · <strong>read-only</strong>: listening beyond the loopback without a token`}</p>
${state.problems.length > 0 && html`<section id="problems"><h2>Could not read</h2><ul>${state.problems.map((p) => html`<li><b>${p.section}</b>: ${p.error}</li>`)}</ul></section>`}
<section id="connections"><h2>Connections</h2>
${table(['connection', 'driver', 'health', 'latency', 'pool used / free / waiting', 'breaker', 'limits active / queued / refused', 'replica lag'], state.connections.flatMap((c) => [connectionRow(c, false), ...c.replicas.map((r) => connectionRow(r, true))]), 'no connections')}
</section>
<section id="outbox"><h2>Outbox backlog</h2>
${table(['connection', 'model', 'pending', 'in flight', 'dead', 'oldest pending'], state.outbox.flatMap(({ connection, models, error }) =>
    error !== undefined ? [html`<tr><td>${connection}</td><td colspan="5" class="bad">cannot read: ${error}</td></tr>`]
    : models.length === 0 ? [html`<tr><td>${connection}</td><td colspan="5">drained</td></tr>`]
    : models.map((m) => html`<tr data-model="${connection}:${m.model}"><td>${connection}</td><td>${m.model}</td><td>${m.pending}</td><td>${m.inFlight}</td><td class="${m.dead > 0 ? 'bad' : ''}">${m.dead}</td><td>${formatAge(m.oldestPendingAgeMs)}</td></tr>`)), 'no connection has an outbox table')}
</section>
<section id="dead"><h2>Dead events</h2>
${table(['connection', 'id', 'model', 'key', 'event', 'attempts', 'written', 'last error', ''], state.deadEvents.map((e) => html`<tr data-event="${e.connection}:${e.id}"><td>${e.connection}</td><td>${e.id}</td><td>${e.model}</td><td>${e.key}</td><td>${e.type}</td><td>${e.attempts}</td><td>${formatAge(now - e.createdAt.getTime())} ago</td><td class="error">${e.lastError}</td><td>${button('Retry', '/api/outbox/retry', { connection: e.connection, ids: [e.id] }, actions)}</td></tr>`), 'no dead events')}
</section>
<section id="in-doubt"><h2>In-doubt prepared branches</h2>
${table(['connection', 'gid', 'node', 'age', 'decision', ''], state.inDoubt.map((b) => html`<tr data-gid="${b.gid}"><td>${b.connections.join(', ')}</td><td>${b.gid}</td><td>${b.ours ? `${b.node ?? ''}${b.thisNode ? ' (this node)' : ''}` : 'foreign'}</td><td>${formatAge(b.ageMs)}</td><td>${b.error !== undefined ? html`<span class="bad">cannot read: ${b.error}</span>` : b.decision === null ? (b.ours ? 'none: will abort' : '') : `${b.decision} (${b.decisionIn})`}</td><td>${b.ours && b.node !== null && button('Recover', '/api/tx/recover', { nodeId: b.node }, actions, `finish every in-doubt branch of node ${b.node} older than 5 s: commit where a commit is logged, roll back the rest`)}</td></tr>`), 'no prepared branches')}
</section>
<section id="sync"><h2>Sync jobs</h2>
${table(['job', 'state on', 'watermark', 'last key', 'rows synced', 'checkpoint moved', 'watermark behind now'], state.syncJobs.map((j) => html`<tr data-job="${j.name}"><td>${j.name}</td><td>${j.connection}</td><td>${j.error ?? shown(j.watermark)}</td><td>${shown(j.lastKey)}</td><td>${j.rowsProcessed}</td><td>${formatAge(j.sinceUpdateMs)} ago</td><td>${formatAge(j.watermarkLagMs)}</td></tr>`), 'no sync job checkpoints')}
</section>
<section id="sagas"><h2>Sagas not finished</h2>
${table(['saga', 'run', 'status', 'step', 'started', 'last progress', 'error'], state.sagas.map((s) => html`<tr data-run="${s.runId}"><td>${s.sagaName}</td><td>${s.runId}</td><td class="${s.status === 'failed' ? 'bad' : ''}">${s.status}</td><td>${s.currentStep ?? ''}</td><td>${formatAge(now - s.startedAt.getTime())} ago</td><td>${formatAge(now - s.updatedAt.getTime())} ago</td><td class="error">${s.error ?? ''}</td></tr>`), 'no unfinished saga runs')}
</section>`;
}

/** The whole page: the sections, and the script (allowed by `nonce`) that refreshes them and sends the actions. */
export function renderPage(sections: SafeHtml, nonce: string, refreshMs: number): SafeHtml {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>polyrecord dashboard</title>
<style nonce="${nonce}">
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d1d1f; }
h1 { font-size: 1.3rem; margin: 0 0 .3rem; } h2 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .25rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top; }
th { background: #f4f4f6; font-weight: 600; } td.error { font-family: ui-monospace, monospace; font-size: 12px; max-width: 28rem; overflow-wrap: anywhere; }
.ok { color: #12734a; } .bad { color: #b3261e; font-weight: 600; } .meta, .empty { color: #666; } #note { min-height: 1.4em; font-weight: 600; }
button { font: inherit; padding: .1rem .7rem; cursor: pointer; } button:disabled { cursor: default; }
</style></head>
<body><h1>polyrecord dashboard</h1><p id="note" role="status"></p>
<main>${sections}</main>
<script nonce="${nonce}">${new SafeHtml(CLIENT_SCRIPT.replace('REFRESH_MS', String(refreshMs)))}</script>
</body></html>
`;
}

// Refreshes the sections every REFRESH_MS (the server renders them: one renderer for the page), and sends a button's action as JSON with the token
// from the page's address (#token=...), which never leaves the browser otherwise.
const CLIENT_SCRIPT = `
const token = new URLSearchParams(location.hash.slice(1)).get('token');
const main = document.querySelector('main'), note = document.getElementById('note');
async function refresh() {
  try {
    const answer = await fetch('/sections', { cache: 'no-store' });
    if (answer.ok) main.innerHTML = await answer.text();
  } catch { note.textContent = 'the dashboard does not answer'; }
}
setInterval(refresh, REFRESH_MS);
document.addEventListener('click', async (event) => {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  button.disabled = true;
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = 'Bearer ' + token;
  try {
    const answer = await fetch(button.dataset.action, { method: 'POST', headers, body: button.dataset.body });
    const body = await answer.json().catch(() => ({}));
    note.textContent = answer.ok ? body.message : 'refused (' + answer.status + '): ' + (body.error || answer.statusText);
  } catch { note.textContent = 'the dashboard does not answer'; }
  await refresh();
});
`;

function connectionRow(c: ConnectionView, replica: boolean): SafeHtml {
  const health = c.health === null ? html`<span class="meta">not probed yet</span>` : c.health.ok ? html`<span class="ok">up</span>` : html`<span class="bad">DOWN</span> ${c.health.error}`;
  return html`<tr data-connection="${c.name}"><td>${replica ? html`&nbsp;&nbsp;↳ ` : ''}${c.name}</td><td>${c.driver}</td><td>${health}</td><td>${c.health ? `${c.health.latencyMs} ms` : ''}</td><td>${c.pool ? `${c.pool.used} / ${c.pool.free} / ${c.pool.pending}` : c.open ? '' : 'not opened'}</td><td class="${c.circuit === 'closed' ? '' : 'bad'}">${c.circuit}</td><td>${c.limits ? `${c.limits.active} / ${c.limits.queued} / ${c.limits.rejected}` : ''}</td><td>${replica ? (c.lagMs === null || c.lagMs === undefined ? 'not measured' : formatAge(c.lagMs)) : ''}</td></tr>`;
}

function table(head: string[], rows: SafeHtml[], empty: string): SafeHtml {
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<table><thead><tr>${head.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>${rows}</tbody></table>`;
}

function button(label: string, action: string, body: unknown, enabled: boolean, title?: string): SafeHtml {
  return html`<button type="button" data-action="${action}" data-body="${JSON.stringify(body)}"${enabled ? (title === undefined ? '' : html` title="${title}"`) : html` disabled title="read-only"`}>${label}</button>`;
}

/** A checkpoint value as text: dates in ISO form. */
function shown(value: unknown): string {
  return value instanceof Date ? value.toISOString() : value === null ? '' : String(value);
}
