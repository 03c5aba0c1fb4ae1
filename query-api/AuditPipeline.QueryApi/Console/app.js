// AuditPipeline web console: no build step, no dependencies, no external requests.
// Data comes from the query API with the session cookie set at sign-in (the API key itself is
// never kept by the browser). Every value from the API is inserted as text, never as HTML.

const main = document.getElementById('main');
const statusBar = document.getElementById('status');
let me = null;
// Each route change starts a new render; an older one that is still loading must not paint over it.
let generation = 0;
const alive = () => { const mine = generation; return () => mine === generation; };

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, options = {}) {
  const headers = { 'X-AuditPipeline-Console': '1', ...(options.body ? { 'Content-Type': 'application/json' } : {}) };
  const response = await fetch(path, { credentials: 'same-origin', ...options, headers });
  const type = response.headers.get('content-type') || '';
  const body = type.includes('json') ? await response.json() : null;
  if (!response.ok) {
    if (response.status === 401 && path !== '/v1/session') { showSignIn('Your session has ended; sign in again.'); }
    const detail = body && (body.detail || body.title) || response.statusText;
    throw new ApiError(response.status, detail);
  }
  return body;
}

/** Creates an element: h('a', { href: '#' }, 'text', child, …). Strings become text nodes. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function say(text) { statusBar.textContent = text; if (text) setTimeout(() => { if (statusBar.textContent === text) statusBar.textContent = ''; }, 6000); }
const fmtTime = t => t ? new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '';
const fmtNum = n => Number(n).toLocaleString('en-US');
const isoMinutesAgo = m => new Date(Date.now() - m * 60000).toISOString();
const has = role => me && me.roles.includes(role);
const q = params => new URLSearchParams(Object.entries(params).filter(([, v]) => v !== '' && v !== null && v !== undefined)).toString();

function page(title, ...content) {
  document.title = `${title} · AuditPipeline`;
  main.replaceChildren(h('h1', {}, title), ...content.flat(Infinity).filter(c => c !== null && c !== undefined && c !== false));
  main.focus({ preventScroll: true });
}

function failure(err) {
  return h('p', { class: 'error', role: 'alert' }, err.status === 403
    ? `Not allowed for your key's roles (${me ? me.roles.join(', ') : 'none'}): ${err.message}`
    : `Could not load: ${err.message}`);
}

// ---------------------------------------------------------------- charts (SVG, drawn here)

/**
 * A time-series chart. series: [{ name, cls, points: [[ms, value], …] }]; markers: [{ at: ms, label }].
 * The SVG has a title and a description, and a hidden table carries the same numbers for screen readers.
 */
function chart({ title, series, markers = [], from, to, yLabel = 'actions' }) {
  const W = 900, H = 240, L = 52, R = 12, T = 12, B = 30;
  const all = series.flatMap(s => s.points);
  const t0 = from ?? Math.min(...all.map(p => p[0]), Date.now() - 3600e3);
  const t1 = to ?? Math.max(...all.map(p => p[0]), Date.now());
  const vmax = Math.max(1, ...all.map(p => p[1])) * 1.1;
  const x = t => L + (W - L - R) * (t - t0) / Math.max(1, t1 - t0);
  const y = v => T + (H - T - B) * (1 - v / vmax);
  const ns = 'http://www.w3.org/2000/svg';
  const s = (tag, attrs, text) => { const el = document.createElementNS(ns, tag); for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v); if (text !== undefined) el.textContent = text; return el; };
  const id = 'c' + Math.random().toString(36).slice(2);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-labelledby': `${id}t ${id}d` });
  const total = series.map(se => `${se.name}: ${fmtNum(se.points.reduce((a, p) => a + p[1], 0))} in ${se.points.length} points`).join('; ');
  svg.append(s('title', { id: `${id}t` }, title), s('desc', { id: `${id}d` }, `${total}; ${markers.length} alert(s) marked; from ${fmtTime(t0)} to ${fmtTime(t1)}`));
  svg.append(s('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'axis' }), s('line', { x1: L, y1: T, x2: L, y2: H - B, class: 'axis' }));
  for (let i = 0; i <= 4; i++) {
    const v = vmax * i / 4;
    svg.append(s('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, v >= 10 ? Math.round(v) : v.toFixed(1)));
    const t = t0 + (t1 - t0) * i / 4;
    svg.append(s('text', { x: x(t), y: H - 10, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle' }, new Date(t).toISOString().slice(11, 16)));
  }
  svg.append(s('text', { x: L + 6, y: T + 10 }, yLabel));
  for (const m of markers) {
    if (m.at < t0 || m.at > t1) continue;
    const line = s('line', { x1: x(m.at), y1: T, x2: x(m.at), y2: H - B, class: 'marker' });
    line.append(s('title', {}, m.label));
    svg.append(line);
  }
  for (const se of series) {
    if (se.points.length === 0) continue;
    const d = se.points.map((p, i) => `${i ? 'L' : 'M'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
    svg.append(s('path', { d, class: se.cls, 'data-series': se.name, 'data-points': se.points.length }));
  }
  const legend = h('div', { class: 'legend', 'aria-hidden': 'true' }, series.map(se => h('span', { class: 'l-' + se.cls.slice(2) }, se.name)),
    markers.length ? h('span', { class: 'l-marker' }, 'alert') : null);
  const table = h('table', { class: 'sr-only' }, h('caption', {}, title),
    h('tr', {}, h('th', { scope: 'col' }, 'time'), series.map(se => h('th', { scope: 'col' }, se.name))),
    (series[0]?.points || []).slice(-60).map((p, i, arr) => h('tr', {}, h('td', {}, fmtTime(p[0])),
      series.map(se => h('td', {}, String((se.points[se.points.length - arr.length + i] || [0, ''])[1]))))));
  return h('figure', { class: 'chart-figure' }, h('figcaption', {}, h('strong', {}, title)), legend, svg, table);
}

/** Fills gaps so a quiet minute shows as zero, not as a straight line between two busy ones. */
function perMinute(buckets, from, to, field = 'actions') {
  const byMinute = new Map(buckets.map(b => [Date.parse(b.start), b[field]]));
  const points = [];
  for (let t = Math.floor(from / 60000) * 60000; t <= to; t += 60000) points.push([t, Number(byMinute.get(t) || 0)]);
  return points;
}

// ---------------------------------------------------------------- sign-in

function showSignIn(message) {
  // Pages still loading for the session that just ended must not draw over the sign-in form.
  generation++;
  me = null;
  document.getElementById('nav').hidden = true;
  document.getElementById('who').replaceChildren();
  const error = h('p', { id: 'signin-error', class: message ? 'error' : '', role: 'alert' }, message || '');
  const form = h('form', { class: 'card signin', 'aria-describedby': 'signin-help' },
    h('h1', {}, 'Sign in'),
    h('p', { id: 'signin-help' }, 'Use an API key (auditctl keys create). The console keeps only a session cookie; the key is not stored in the browser.'),
    h('label', { for: 'apikey' }, 'API key'),
    h('input', { id: 'apikey', name: 'apikey', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' }),
    h('p', {}, h('button', { type: 'submit' }, 'Sign in')), error);
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    try {
      me = await api('/v1/session', { method: 'POST', body: JSON.stringify({ apiKey: form.apikey.value }) });
      form.apikey.value = '';
      signedIn();
    } catch (err) {
      error.className = 'error';
      error.textContent = `Sign-in failed: ${err.message}`;
    }
  });
  document.title = 'Sign in · AuditPipeline';
  main.replaceChildren(form);
  form.apikey.focus();
}

function signedIn() {
  document.getElementById('nav').hidden = false;
  const out = h('button', { type: 'button', onclick: async () => { await api('/v1/session', { method: 'DELETE' }).catch(() => {}); showSignIn('Signed out.'); } }, 'Sign out');
  document.getElementById('who').replaceChildren(h('span', { id: 'whoami' }, `${me.owner} · ${me.roles.join(', ')}`), out);
  route();
}

// ---------------------------------------------------------------- pages

async function overview(params) {
  const live = alive();
  const minutes = 180, to = Date.now(), from = to - minutes * 60000;
  const selected = params.get('agent') || '';
  live() && page('Overview', h('p', {}, 'Loading the fleet…'));
  try {
    const [agentsPage, alertsPage, fleet] = await Promise.all([
      api('/v1/agents?limit=500'),
      api('/v1/alerts?status=all&limit=200'),
      api(`/v1/actions/counts?${q({ bucket: 'minute', from: new Date(from).toISOString(), to: new Date(to).toISOString() })}`),
    ]);
    const agents = agentsPage.items, incidents = alertsPage.items;
    const open = incidents.filter(i => i.status === 'open' || i.status === 'acknowledged');
    const openBy = new Map(); open.forEach(i => openBy.set(i.agentId, (openBy.get(i.agentId) || 0) + 1));
    const markers = incidents.map(i => ({ at: Date.parse(i.startedAt), label: `${i.severity}: ${i.title}`, agent: i.agentId }));
    const unowned = agents.filter(a => a.unowned);
    const select = h('select', { id: 'agent-select', onchange: e => { location.hash = '#/overview?' + q({ agent: e.target.value }); } },
      h('option', { value: '' }, '(choose an agent)'), agents.map(a => h('option', { value: a.agentId, selected: a.agentId === selected }, a.agentId)));
    const content = [
      unowned.length ? h('div', { class: 'callout', id: 'unowned', role: 'region', 'aria-label': 'Unowned agents' },
        h('strong', {}, `${unowned.length} agent(s) have no owner: `), unowned.map((a, i) => [i ? ', ' : '', h('a', { href: `#/agents/${encodeURIComponent(a.agentId)}` }, a.agentId)])) : null,
      h('section', { class: 'card', id: 'fleet-chart' }, chart({
        title: `Actions per minute, whole fleet, last ${minutes / 60} hours`, from, to, markers,
        series: [{ name: 'actions', cls: 's-actions', points: perMinute(fleet, from, to) }, { name: 'denied', cls: 's-denied', points: perMinute(fleet, from, to, 'denied') }],
      })),
      h('section', { class: 'card' }, h('label', { for: 'agent-select' }, 'One agent'), select, h('div', { id: 'agent-chart' })),
      h('div', { class: 'grid' },
        h('section', { class: 'card' }, h('h2', {}, 'Busiest agents'), table(['agent', 'owner', 'actions', 'denied', 'open alerts'],
          [...agents].sort((a, b) => b.actions - a.actions).slice(0, 10).map(a => [agentLink(a.agentId), a.owner ?? h('strong', {}, 'none'), num(a.actions), num(a.denied), num(openBy.get(a.agentId) || 0)]))),
        h('section', { class: 'card' }, h('h2', {}, 'Open alerts by agent'), open.length === 0 ? h('p', {}, 'No open alerts.') :
          table(['agent', 'open', 'worst', 'latest'], [...openBy.entries()].sort((a, b) => b[1] - a[1]).map(([agent, n]) => {
            const mine = open.filter(i => i.agentId === agent);
            const worst = ['critical', 'high', 'medium', 'low'].find(s => mine.some(i => i.severity === s));
            return [agentLink(agent), num(n), h('span', { class: `badge sev-${worst}` }, worst), h('a', { href: `#/alerts/${mine[0].incidentId}` }, mine[0].title)];
          })))),
    ];
    live() && page('Overview', ...content);
    if (selected) {
      const counts = await api(`/v1/actions/counts?${q({ bucket: 'minute', agent: selected, from: new Date(from).toISOString(), to: new Date(to).toISOString() })}`);
      live() && document.getElementById('agent-chart').replaceChildren(chart({
        title: `Actions per minute, ${selected}`, from, to, markers: markers.filter(m => m.agent === selected),
        series: [{ name: 'actions', cls: 's-actions', points: perMinute(counts, from, to) }, { name: 'denied', cls: 's-denied', points: perMinute(counts, from, to, 'denied') }],
      }), h('p', {}, agentLink(selected, 'Open the agent page')));
    }
  } catch (err) { live() && page('Overview', failure(err)); }
}

const num = n => h('span', { class: 'n' }, fmtNum(n));
const agentLink = (id, text) => h('a', { href: `#/agents/${encodeURIComponent(id)}` }, text || id);
const eventLink = id => h('a', { href: `#/why/${id}` }, id);

function table(headers, rows, caption) {
  return h('div', { class: 'table-wrap' }, h('table', {}, caption ? h('caption', { class: 'sr-only' }, caption) : null,
    h('thead', {}, h('tr', {}, headers.map(x => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows.map(r => h('tr', {}, r.map(c => h('td', { class: c && c.className === 'n' ? 'n' : null }, c)))))));
}

async function agentPage(id) {
  const live = alive();
  live() && page(`Agent ${id}`, h('p', {}, 'Loading…'));
  try {
    const to = Date.now(), dayAgo = to - 24 * 3600e3, weekAgo = to - 7 * 24 * 3600e3;
    const [detail, week, resources] = await Promise.all([
      api(`/v1/agents/${encodeURIComponent(id)}`),
      api(`/v1/actions/counts?${q({ bucket: 'hour', agent: id, from: new Date(weekAgo).toISOString(), to: new Date(to).toISOString() })}`),
      api(`/v1/agents/${encodeURIComponent(id)}/resources`),
    ]);
    const a = detail.agent;
    // The detectors' volume baseline is seasonal by hour of day: the mean of the same hour on earlier
    // days. An agent younger than a day has none yet, so (like the detectors' cold start) it falls
    // back to the agent's mean per hour so far; the label says which one is shown.
    const byHour = Array.from({ length: 24 }, () => []);
    week.filter(b => Date.parse(b.start) < dayAgo).forEach(b => byHour[new Date(b.start).getUTCHours()].push(b.actions));
    const seasonal = byHour.some(v => v.length > 0);
    const days = Math.max(1, Math.round((dayAgo - Math.max(weekAgo, Date.parse(a.firstSeen))) / 86400e3));
    const hourly = [];
    for (let t = Math.floor(dayAgo / 3600e3) * 3600e3; t <= to; t += 3600e3) hourly.push(t);
    const at = new Map(week.map(b => [Date.parse(b.start), b]));
    const series = field => hourly.map(t => [t, Number(at.get(t)?.[field] || 0)]);
    const activeHours = Math.max(1, (to - Math.max(weekAgo, Date.parse(a.firstSeen))) / 3600e3);
    const overall = week.reduce((sum, b) => sum + b.actions, 0) / activeHours;
    const baseline = hourly.map(t => [t, seasonal ? byHour[new Date(t).getUTCHours()].reduce((s, v) => s + v, 0) / days : overall]);
    const baselineName = seasonal ? 'hour-of-day baseline (earlier days)' : 'baseline (mean per hour so far: under a day of history)';
    const markers = detail.openAlerts.map(i => ({ at: Date.parse(i.startedAt), label: `${i.severity}: ${i.title}` }));
    live() && page(`Agent ${id}`,
      a.unowned ? h('p', { class: 'callout' }, h('strong', {}, 'This agent has no owner.'), ' Nobody is accountable for what it does.') : null,
      h('div', { class: 'grid' },
        h('section', { class: 'card' }, h('h2', {}, 'Identity'), h('dl', { class: 'facts' },
          h('dt', {}, 'Name'), h('dd', {}, a.name), h('dt', {}, 'Owner'), h('dd', {}, a.owner ?? 'none'), h('dt', {}, 'Team'), h('dd', {}, a.team ?? '—'),
          h('dt', {}, 'Risk tier'), h('dd', {}, a.riskTier ?? '—'), h('dt', {}, 'Model versions'), h('dd', {}, a.modelVersions.join(', ') || '—'),
          h('dt', {}, 'First seen'), h('dd', {}, fmtTime(a.firstSeen)), h('dt', {}, 'Last seen'), h('dd', {}, fmtTime(a.lastSeen)),
          h('dt', {}, 'Actions'), h('dd', {}, `${fmtNum(a.actions)} (${fmtNum(a.denied)} denied)`), h('dt', {}, 'Cost'), h('dd', {}, `$${Number(a.costUsd).toFixed(4)}`))),
        h('section', { class: 'card' }, h('h2', {}, 'Open alerts'), detail.openAlerts.length === 0 ? h('p', {}, 'None.') :
          h('ul', {}, detail.openAlerts.map(i => h('li', {}, h('span', { class: `badge sev-${i.severity}` }, i.severity), ' ', h('a', { href: `#/alerts/${i.incidentId}` }, i.title)))),
          h('p', {}, h('a', { href: `#/actions?${q({ agent: id })}` }, 'Search this agent\'s actions')))),
      h('section', { class: 'card', id: 'volume-chart' }, chart({ title: `Actions per hour, last 24 hours, with the ${baselineName}`, markers, from: hourly[0], to,
        series: [{ name: 'actions', cls: 's-actions', points: series('actions') }, { name: 'baseline', cls: 's-baseline', points: baseline }] })),
      h('div', { class: 'grid' },
        h('section', { class: 'card' }, chart({ title: 'Denials per hour', markers, from: hourly[0], to, yLabel: 'denied', series: [{ name: 'denied', cls: 's-denied', points: series('denied') }] })),
        h('section', { class: 'card' }, chart({ title: 'Cost per hour (USD)', from: hourly[0], to, yLabel: 'USD', series: [{ name: 'cost', cls: 's-cost', points: series('costUsd') }] }))),
      h('section', { class: 'card' }, h('h2', {}, 'Resources touched'), h('p', {}, `${resources.filter(r => r.new).length} first touched in the last 24 hours (marked new).`),
        resources.length > 50 ? h('p', {}, `Showing the new ones first, then the busiest: 50 of ${resources.length}.`) : null,
        table(['resource', 'sensitivity', 'actions', 'first seen', 'last seen'], [...resources].sort((x, y) => (y.new - x.new) || (y.actions - x.actions)).slice(0, 50).map(r => [
          h('span', {}, `${r.resourceType}:${r.resourceId} `, r.new ? h('span', { class: 'badge new' }, 'new') : null), r.sensitivity, num(r.actions), fmtTime(r.firstSeen), fmtTime(r.lastSeen)]))));
  } catch (err) { live() && page(`Agent ${id}`, failure(err)); }
}

async function alertsPage() {
  const live = alive();
  live() && page('Alerts', h('p', {}, 'Loading…'));
  try {
    const list = await api('/v1/alerts?status=all&limit=200');
    live() && page('Alerts', list.items.length === 0 ? h('p', {}, 'No alerts.') : table(['severity', 'status', 'agent', 'title', 'started'], list.items.map(i => [
      h('span', { class: `badge sev-${i.severity}` }, i.severity), i.status, agentLink(i.agentId), h('a', { href: `#/alerts/${i.incidentId}` }, i.title), fmtTime(i.startedAt)])));
  } catch (err) { live() && page('Alerts', failure(err)); }
}

async function alertPage(id) {
  const live = alive();
  live() && page('Alert', h('p', {}, 'Loading…'));
  try {
    const { incident, changes } = await api(`/v1/alerts/${id}`);
    const closed = !(incident.status === 'open' || incident.status === 'acknowledged');
    const mayChange = has('oncall');
    const note = h('input', { id: 'alert-note', name: 'note', maxlength: 2000, placeholder: 'what you are doing about it' });
    const result = h('p', { id: 'alert-result', role: 'status' });
    const act = (verb) => async () => {
      try {
        const after = await api(`/v1/alerts/${id}/${verb}`, { method: 'POST', body: JSON.stringify({ note: note.value || null }) });
        result.className = 'ok';
        result.textContent = `${verb === 'acknowledge' ? 'Acknowledged' : 'Resolved'}: the incident is now ${after.status}.`;
        say(result.textContent);
        setTimeout(() => alertPage(id), 800);
      } catch (err) {
        result.className = 'error';
        result.textContent = err.status === 403 ? `Refused: only the on-call role may ${verb} alerts.` : `Failed: ${err.message}`;
      }
    };
    const disabledWhy = !mayChange ? 'Only the on-call role may acknowledge or resolve.' : closed ? `The incident is ${incident.status}.` : null;
    const evidence = changes.flatMap(c => c.evidence.map(e => ({ change: c, e })));
    live() && page(`Alert: ${incident.title}`,
      h('dl', { class: 'facts' },
        h('dt', {}, 'Severity'), h('dd', {}, h('span', { class: `badge sev-${incident.severity}` }, incident.severity)),
        h('dt', {}, 'Status'), h('dd', { id: 'alert-status' }, incident.status + (incident.acknowledgedBy ? ` (acknowledged by ${incident.acknowledgedBy})` : '')),
        h('dt', {}, 'Agent'), h('dd', {}, agentLink(incident.agentId)),
        h('dt', {}, 'Detectors'), h('dd', {}, incident.categories.join(', ')),
        h('dt', {}, 'Started'), h('dd', {}, fmtTime(incident.startedAt)), h('dt', {}, 'Updated'), h('dd', {}, fmtTime(incident.updatedAt))),
      h('section', { class: 'card', 'aria-labelledby': 'respond' }, h('h2', { id: 'respond' }, 'Respond'),
        h('label', { for: 'alert-note' }, 'Note (optional)'), note,
        h('p', {}, h('button', { id: 'ack', type: 'button', disabled: !!disabledWhy, 'aria-describedby': disabledWhy ? 'why-disabled' : null, onclick: act('acknowledge') }, 'Acknowledge'), ' ',
          h('button', { id: 'resolve', type: 'button', class: 'secondary', disabled: !!disabledWhy, 'aria-describedby': disabledWhy ? 'why-disabled' : null, onclick: act('resolve') }, 'Resolve')),
        disabledWhy ? h('p', { id: 'why-disabled' }, disabledWhy) : null, result),
      h('h2', {}, 'Evidence'),
      evidence.length === 0 ? h('p', {}, 'No detector evidence (changes by people only).') : evidence.map(({ change, e }, n) => {
        const start = Date.parse(e.windowStart);
        const pts = arr => arr.map((v, i) => [start + i * 60000, v]);
        return h('section', { class: 'card evidence', 'data-detector': e.detector },
          h('h3', {}, `${e.detector} — score ${Number(e.score).toFixed(2)} (${change.change} at ${fmtTime(change.at)})`),
          h('p', {}, e.explanation),
          e.observed.length === 0 ? null : chart({ title: `Observed vs baseline (${e.detector})`, from: start, to: start + Math.max(e.observed.length - 1, 1) * 60000,
            series: [{ name: 'observed', cls: 's-actions', points: pts(e.observed) }, { name: 'baseline', cls: 's-baseline', points: pts(e.baseline) }] }),
          Object.keys(e.parameters).length ? h('p', {}, 'Parameters: ', Object.entries(e.parameters).map(([k, v]) => `${k} = ${v}`).join(', ')) : null,
          e.resources.length ? h('p', {}, 'Resources: ', e.resources.join(', ')) : null,
          e.eventIds.length ? h('details', { open: n === 0 }, h('summary', {}, `${e.eventIds.length} triggering event(s)`), h('ul', {}, e.eventIds.slice(0, 50).map(id => h('li', {}, eventLink(id))))) : null);
      }),
      h('h2', {}, 'History'),
      table(['change', 'at', 'severity', 'by', 'note'], changes.map(c => [c.change, fmtTime(c.at), c.severity, c.actor ?? 'detector', c.note ?? ''])));
  } catch (err) { live() && page('Alert', failure(err)); }
}

async function actionsPage(params) {
  const live = alive();
  const values = Object.fromEntries(['agent', 'owner', 'on_behalf_of', 'resource', 'decision', 'policy', 'from', 'to'].map(k => [k, params.get(k) || '']));
  const field = (name, label, type = 'text') => h('div', {}, h('label', { for: `f-${name}` }, label), h('input', { id: `f-${name}`, name, type, value: values[name] }));
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Action search' },
    field('agent', 'Agent'), field('owner', 'Owner'), field('on_behalf_of', 'On behalf of'), field('resource', 'Resource'),
    h('div', {}, h('label', { for: 'f-decision' }, 'Decision'), h('select', { id: 'f-decision', name: 'decision' },
      ['', 'allow', 'deny'].map(d => h('option', { value: d, selected: d === values.decision }, d || 'any')))),
    field('policy', 'Policy'), field('from', 'From (UTC, ISO 8601)'), field('to', 'To'),
    h('button', { type: 'submit' }, 'Search'));
  form.addEventListener('submit', ev => {
    ev.preventDefault();
    location.hash = '#/actions?' + q(Object.fromEntries(new FormData(form).entries()));
  });
  const results = h('div', { id: 'results' }, h('p', {}, 'Searching…'));
  live() && page('Actions', form, results);
  try {
    const found = await api(`/v1/actions?${q({ ...values, limit: 100 })}`);
    live() && results.replaceChildren(h('p', {}, `${found.items.length} action(s)${found.nextCursor ? ' (the newest 100)' : ''}.`),
      table(['when', 'agent', 'on behalf of', 'operation', 'resource', 'decision', 'policy', 'why'], found.items.map(a => [
        fmtTime(a.occurredAt), agentLink(a.agentId), a.onBehalfOf, a.operation, `${a.resourceType}:${a.resourceId} (${a.sensitivity})`,
        a.decision === 'deny' ? h('strong', {}, 'deny') : 'allow', `${a.policyId}@${a.policyVersion}`, h('a', { href: `#/why/${a.eventId}`, 'aria-label': `Why was ${a.eventId} allowed?` }, 'why')]),
      'Actions found'));
  } catch (err) { live() && results.replaceChildren(failure(err)); }
}

async function whyPage(id) {
  const live = alive();
  live() && page('Why was this allowed?', h('p', {}, 'Loading…'));
  try {
    const why = await api(`/v1/events/${id}/why`);
    let proof = null, proofError = null;
    try { proof = await api(`/v1/events/${id}/proof`); } catch (err) { proofError = err; }
    const integ = why.integrity;
    const labels = { human: 'Human', service: 'Service', agent: 'Agent', action: 'Action', decision: 'Decision', policy: 'Policy', approval: 'Approval', grant: 'Grant' };
    // Redacted fields (docs/redaction.md): say what happened instead of showing an envelope.
    const r = why.redaction || {};
    const field = (path, value) => (r.shredded || []).includes(path) ? h('em', { class: 'redacted' }, 'shredded (the subject\'s key was destroyed)')
      : (r.encrypted || []).includes(path) ? h('em', { class: 'redacted' }, 'encrypted (this API has no redaction key)')
      : (r.unreadable || []).includes(path) ? h('em', { class: 'redacted' }, 'unreadable (unknown key or altered)')
      : value ?? '—';
    live() && page('Why was this allowed?',
      h('p', {}, `Event ${why.eventId} by `, agentLink(why.agentId), ` at ${fmtTime(why.occurredAt)}.`),
      h('div', { class: 'grid' },
        h('section', { class: 'card', 'aria-labelledby': 'chain-h' }, h('h2', { id: 'chain-h' }, 'Authorization chain'),
          h('ol', { class: 'path', id: 'why-path' }, why.path.map(link => h('li', { 'data-kind': link.kind },
            h('span', { class: 'kind' }, labels[link.kind] || link.kind), h('span', { class: 'id' }, link.id), link.detail ? h('div', { class: 'detail' }, link.detail) : null)))),
        h('section', { class: 'card', 'aria-labelledby': 'integrity-h' }, h('h2', { id: 'integrity-h' }, 'Integrity'),
          h('p', { id: 'chain-status', class: integ.verified ? 'ok' : 'error' }, integ.verified
            ? '✓ Chain hash verified: the stored event matches its hash and links to the previous event of its chain.'
            : `✗ NOT VERIFIED: ${(integ.problems || []).join('; ')}`),
          why.archivedMonth ? h('p', { id: 'archive-status', class: 'callout' }, `Answered from the archive: sealed month ${why.archivedMonth}, dropped from the hot store.`) : null,
          h('p', { id: 'checkpoint-status', class: proof && proof.verified ? 'ok' : 'callout' }, proof
            ? `${proof.verified ? '✓' : '✗'} Included in signed checkpoint ${fmtNum(proof.treeSize)} (root ${proof.rootHash.slice(0, 16)}…, key ${proof.checkpoint.keyId}, signed ${fmtTime(proof.checkpoint.signedAt)}): RFC 9162 inclusion proof of ${proof.proof.length} hashes.`
            : `Checkpoint inclusion not available: ${proofError ? proofError.message : 'unknown'}`),
          h('dl', { class: 'facts' },
            h('dt', {}, 'Chain'), h('dd', {}, integ.streamId), h('dt', {}, 'Version'), h('dd', {}, String(integ.version)),
            h('dt', {}, 'Log position'), h('dd', {}, fmtNum(integ.position)), h('dt', {}, 'Recorded'), h('dd', {}, fmtTime(integ.recordedAt)),
            h('dt', {}, 'Previous hash'), h('dd', {}, h('code', {}, integ.prevHash)), h('dt', {}, 'Hash'), h('dd', {}, h('code', {}, integ.hash))))),
      h('section', { class: 'card' }, h('h2', {}, 'Decision'), h('dl', { class: 'facts' },
        h('dt', {}, 'Decision'), h('dd', {}, why.authorization.decision), h('dt', {}, 'Policy'), h('dd', {}, `${why.authorization.policyId}@${why.authorization.policyVersion}`),
        h('dt', {}, 'Rule'), h('dd', {}, why.authorization.rule ?? '—'), h('dt', {}, 'Reason'), h('dd', {}, field('authorization.reason', why.authorization.reason)),
        h('dt', {}, 'Approvals'), h('dd', {}, why.authorization.approvals.map(a => `${a.approver} at ${fmtTime(a.approvedAt)}`).join('; ') || 'none'),
        h('dt', {}, 'Input'), h('dd', { id: 'why-input' }, field('action.input', why.action.input)),
        h('dt', {}, 'Outcome'), h('dd', {}, why.outcome.status ?? JSON.stringify(why.outcome), why.outcome.message ? [': ', field('outcome.message', why.outcome.message)] : null))));
  } catch (err) { live() && page('Why was this allowed?', failure(err)); }
}

async function exportPage() {
  const toLocal = d => d.toISOString().slice(0, 16);
  const form = h('form', { class: 'filters', 'aria-label': 'Evidence export' },
    h('div', {}, h('label', { for: 'x-from' }, 'From (UTC)'), h('input', { id: 'x-from', name: 'from', type: 'datetime-local', required: true, value: toLocal(new Date(Date.now() - 3600e3)) })),
    h('div', {}, h('label', { for: 'x-to' }, 'To (UTC)'), h('input', { id: 'x-to', name: 'to', type: 'datetime-local', required: true, value: toLocal(new Date(Date.now() + 60e3)) })),
    h('div', {}, h('label', { for: 'x-agents' }, 'Agents (comma-separated, optional)'), h('input', { id: 'x-agents', name: 'agents' })),
    h('div', {}, h('label', { for: 'x-owners' }, 'Owners (comma-separated, optional)'), h('input', { id: 'x-owners', name: 'owners' })),
    h('button', { type: 'submit', disabled: !has('auditor') }, 'Start export'));
  const progress = h('div', { id: 'export-progress', 'aria-live': 'polite' });
  page('Evidence export',
    h('p', {}, 'A SOX evidence bundle: the events with their hash chains, why-authorized chains, inclusion proofs against a signed checkpoint, a signed manifest and an HTML/CSV summary. Verify it anywhere with ', h('code', {}, 'auditctl verify-bundle <folder>'), '.'),
    has('auditor') ? null : h('p', { class: 'callout' }, 'Exports need the auditor role.'), form, progress);
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    const list = s => s.split(',').map(x => x.trim()).filter(Boolean);
    try {
      let job = await api('/v1/exports', { method: 'POST', body: JSON.stringify({
        from: new Date(form.from.value + 'Z').toISOString(), to: new Date(form.to.value + 'Z').toISOString(), agents: list(form.agents.value), owners: list(form.owners.value) }) });
      const bar = h('progress', { max: 1, value: 0, 'aria-label': 'Export progress' });
      const text = h('p', {}, 'Queued…');
      progress.replaceChildren(bar, text);
      while (job.state === 'queued' || job.state === 'running') {
        await new Promise(r => setTimeout(r, 400));
        job = await api(`/v1/exports/${job.id}`);
        bar.max = Math.max(1, job.total); bar.value = job.events;
        text.textContent = `${job.state}: ${fmtNum(job.events)} of ${fmtNum(job.total)} events`;
      }
      if (job.state === 'done') {
        bar.value = bar.max;
        progress.replaceChildren(bar, h('p', { class: 'ok' }, `Done: ${fmtNum(job.events)} events, proven against checkpoint ${fmtNum(job.checkpointSize)}. `,
          h('a', { id: 'download', href: job.download, download: true }, `Download the bundle (${(job.bundleBytes / 1e6).toFixed(1)} MB zip)`)));
      } else {
        progress.replaceChildren(h('p', { class: 'error' }, `Export failed: ${job.error}`));
      }
    } catch (err) { progress.replaceChildren(failure(err)); }
  });
}

// ---------------------------------------------------------------- routing

async function route() {
  if (!me) return;
  generation++;
  const [path, query] = (location.hash.slice(1) || '/overview').split('?');
  const params = new URLSearchParams(query || '');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === `#/${parts[0]}`) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  switch (parts[0]) {
    case 'agents': return parts[1] ? agentPage(parts[1]) : overview(params);
    case 'alerts': return parts[1] ? alertPage(parts[1]) : alertsPage();
    case 'actions': return actionsPage(params);
    case 'why': return whyPage(parts[1]);
    case 'export': return exportPage();
    default: return overview(params);
  }
}

window.addEventListener('hashchange', route);
(async () => {
  try { me = await api('/v1/session'); signedIn(); } catch { showSignIn(''); }
})();
