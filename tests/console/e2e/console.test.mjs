// End-to-end tests of the web console in headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core). AuditPipeline.Console.E2E starts PostgreSQL, ClickHouse and the real query API
// with demo data and passes what it made in CONSOLE_E2E_CONFIG. Screenshots of every page go to
// the artifacts folder it names.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const cfg = JSON.parse(fs.readFileSync(process.env.CONSOLE_E2E_CONFIG, 'utf8'));
const external = [];
let browser;

before(async () => {
  fs.mkdirSync(cfg.artifacts, { recursive: true });
  browser = await chromium.launch({
    executablePath: cfg.chromium,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
});

async function open(viewport = { width: 1366, height: 860 }) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  page.on('request', r => { const u = r.url(); if (!u.startsWith(cfg.baseUrl) && !u.startsWith('data:')) external.push(u); });
  page.setDefaultTimeout(30000); // generous: CI shares 2 cores between Chromium, the API and both databases
  page.on('pageerror', e => console.error(`page error: ${e.message}`));
  await page.goto(`${cfg.baseUrl}/console/`);
  return { context, page };
}

async function signIn(key, viewport) {
  const session = await open(viewport);
  await session.page.getByLabel('API key').fill(key);
  await session.page.getByRole('button', { name: 'Sign in' }).click();
  await session.page.locator('#whoami').waitFor();
  return session;
}

const shot = (page, name) => page.screenshot({ path: path.join(cfg.artifacts, `${name}.png`), fullPage: true });

test('sign-in refuses a wrong key, accepts a right one and keeps only an HttpOnly session cookie', async () => {
  const { context, page } = await open();
  await shot(page, '01-sign-in');
  await page.getByLabel('API key').fill('apk_notakey000_' + 'x'.repeat(43));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Sign-in failed').waitFor();
  await page.getByLabel('API key').fill(cfg.auditorKey);
  await page.keyboard.press('Enter'); // the form works from the keyboard
  await page.locator('#whoami').waitFor();
  assert.match(await page.locator('#whoami').textContent(), /auditor/);
  const storage = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
  assert.ok(!storage.includes(cfg.auditorKey.slice(4, 20)), 'the key must not be kept by the page');
  assert.equal(await page.evaluate(() => document.cookie), '', 'the session cookie is HttpOnly, invisible to script');
  const cookies = await context.cookies();
  const session = cookies.find(c => c.name === 'ap_session');
  assert.ok(session && session.httpOnly && session.sameSite === 'Strict', JSON.stringify(cookies));
  // Signing out ends the session on the server too.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API key').waitFor();
  const after = await context.request.get(`${cfg.baseUrl}/v1/session`);
  assert.equal(after.status(), 401);
  await context.close();
});

test('overview charts the fleet per minute with alerts marked, ranks agents and calls out unowned ones', async () => {
  for (const [name, viewport] of [['laptop', { width: 1280, height: 800 }], ['large', { width: 2560, height: 1440 }]]) {
    const { context, page } = await signIn(cfg.auditorKey, viewport);
    const fleet = page.locator('#fleet-chart svg');
    await fleet.waitFor();
    const points = Number(await fleet.locator('path.s-actions').getAttribute('data-points'));
    assert.ok(points >= 170, `a point per minute over 3 hours, got ${points}`);
    assert.ok(await fleet.locator('line.marker').count() >= 1, 'alerts are marked on the chart');
    assert.match(await page.locator('#unowned').textContent(), new RegExp(cfg.unownedAgent));
    assert.doesNotMatch(await page.locator('main').textContent(), /http:|\bnull\b|undefined|\[object/, 'only text a person should read');
    assert.equal(await page.locator('#unowned a').getAttribute('href'), `#/agents/${cfg.unownedAgent}`);
    assert.match(await page.getByRole('heading', { name: 'Busiest agents' }).locator('..').textContent(), new RegExp(cfg.spikeAgent));
    await page.locator('#agent-select').selectOption(cfg.spikeAgent);
    await page.locator('#agent-chart svg path.s-actions').waitFor();
    assert.ok(await page.locator('#agent-chart svg line.marker').count() >= 1, 'the agent chart marks its alert');
    await shot(page, `02-overview-${name}`);
    await context.close();
  }
});

test('an agent page shows owner, charts with the baseline, and new resources highlighted', async () => {
  const { context, page } = await signIn(cfg.auditorKey);
  await page.goto(`${cfg.baseUrl}/console/#/agents/${cfg.spikeAgent}`);
  await page.locator('#volume-chart svg path.s-baseline').waitFor({ state: 'attached' });
  assert.ok(Number(await page.locator('#volume-chart svg path.s-baseline').getAttribute('data-points')) >= 24);
  assert.ok(await page.locator('#volume-chart svg path.s-actions').count() === 1);
  assert.doesNotMatch(await page.locator('main').textContent(), /\bnull\b|undefined|\[object/);
  assert.match(await page.locator('dl.facts').first().textContent(), /Owner/);
  assert.ok(await page.locator('.badge.new').count() >= 1, 'a resource first touched today is marked new');
  await shot(page, '03-agent');
  await context.close();
});

test('clicking an alert shows its evidence: observed vs baseline, score, detector, triggering events', async () => {
  const { context, page } = await signIn(cfg.auditorKey);
  await page.getByRole('link', { name: 'Alerts', exact: true }).click();
  await page.getByRole('link', { name: cfg.incidentTitle }).first().click();
  const evidence = page.locator('section.evidence').first();
  await evidence.waitFor();
  assert.match(await evidence.locator('h3').textContent(), /volume\.spike — score 0\.9/);
  assert.ok(Number(await evidence.locator('path.s-actions').getAttribute('data-points')) >= 10);
  assert.ok(await evidence.locator('path.s-baseline').count() === 1);
  assert.ok(await evidence.locator('details a').count() >= 1, 'triggering events are listed');
  // Auditors see the buttons disabled with the reason, and the API refuses them anyway.
  assert.equal(await page.locator('#ack').isDisabled(), true);
  assert.match(await page.locator('#why-disabled').textContent(), /on-call/);
  const status = await page.evaluate(async id => (await fetch(`/v1/alerts/${id}/acknowledge`, {
    method: 'POST', headers: { 'X-AuditPipeline-Console': '1', 'Content-Type': 'application/json' }, body: '{}' })).status, cfg.incidentId);
  assert.equal(status, 403);
  // Without the console header a cookie-borne change is refused (a cross-site form cannot send it).
  const csrf = await page.evaluate(async id => (await fetch(`/v1/alerts/${id}/acknowledge`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).status, cfg.incidentId);
  assert.equal(csrf, 401);
  await shot(page, '04-alert-auditor');
  await context.close();
});

test('on-call acknowledges an alert from its page', async () => {
  const { context, page } = await signIn(cfg.oncallKey);
  await page.goto(`${cfg.baseUrl}/console/#/alerts/${cfg.incidentId}`);
  await page.locator('section.evidence').first().waitFor();
  await page.getByLabel('Note (optional)').fill('looking into it (e2e)');
  await page.locator('#ack').click();
  await page.locator('#alert-result.ok').waitFor();
  await page.locator('#alert-status').filter({ hasText: 'acknowledged' }).waitFor();
  assert.match(await page.locator('#alert-status').textContent(), /acknowledged by/);
  await shot(page, '05-alert-acknowledged');
  await context.close();
});

test('action search leads to the why-authorized view with every link and its integrity', async () => {
  const { context, page } = await signIn(cfg.auditorKey);
  await page.getByRole('link', { name: 'Actions', exact: true }).click();
  await page.getByLabel('Agent', { exact: true }).fill(cfg.approvedAgent);
  await page.getByLabel('Decision').selectOption('allow');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('#results table').waitFor();
  await shot(page, '06-actions');
  await page.getByRole('link', { name: `Why was ${cfg.approvedEventId} allowed?` }).click();
  await page.locator('#why-path').waitFor();
  const kinds = await page.locator('#why-path li').evaluateAll(items => items.map(i => i.dataset.kind));
  assert.deepEqual(kinds.filter(k => k !== 'grant'), ['human', 'service', 'agent', 'action', 'decision', 'policy', 'approval']);
  const text = await page.locator('#why-path').textContent();
  for (const part of ['alice@example.com', 'orchestrator-1', cfg.approvedAgent, 'transfer', 'allow', 'payments-policy@v7', 'bob@example.com']) {
    assert.ok(text.includes(part), `${part} in the chain: ${text}`);
  }
  assert.match(await page.locator('#chain-status').textContent(), /Chain hash verified/);
  assert.match(await page.locator('#checkpoint-status').textContent(), /Included in signed checkpoint/);
  // Stored encrypted under alice's key; the API decrypts it for the auditor, the page never shows an envelope.
  const input = await page.locator('#why-input').textContent();
  assert.match(input, /transfer 900 EUR/);
  assert.doesNotMatch(input, /enc:v1:/);
  await shot(page, '07-why-authorized');
  await context.close();
});

test('an auditor starts an export, watches its progress and downloads the bundle', async () => {
  const { context, page } = await signIn(cfg.auditorKey);
  await page.getByRole('link', { name: 'Export', exact: true }).click();
  await page.getByLabel('Agents (comma-separated, optional)').fill(cfg.approvedAgent);
  await page.getByRole('button', { name: 'Start export' }).click();
  await page.locator('#download').waitFor({ timeout: 60000 });
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download').click()]);
  const file = path.join(cfg.artifacts, 'bundle.zip');
  await download.saveAs(file);
  assert.ok(fs.statSync(file).size > 1000);
  await shot(page, '08-export');
  await context.close();
});

test('the console made no request outside the API host', () => {
  assert.deepEqual(external, []);
});
