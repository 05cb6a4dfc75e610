// The dispatch wall in real headless Chromium (Debian's chromium, driven by
// playwright-core): a dispatcher signs in, an alert raised by the camera pipeline
// appears without a reload, the dispatcher acknowledges it with the `a` key, and a
// second browser session (its own cookie) sees it turn acknowledged, also without a
// reload. Screenshots go to SCREENSHOT_DIR.
//
//   node wall.test.mjs            (tests/wall_browser.rs runs it against a real veghe)
//
// Environment: VEGHE_URL (e.g. http://127.0.0.1:8080), VEGHE_USER, VEGHE_PASSWORD,
// optional SCREENSHOT_DIR (default ../../target/screenshots), CHROMIUM
// (default /usr/bin/chromium), ALERT_TIMEOUT_S (default 180).

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const base = (process.env.VEGHE_URL || '').replace(/\/$/, '');
const user = process.env.VEGHE_USER;
const password = process.env.VEGHE_PASSWORD;
const shots = path.resolve(process.env.SCREENSHOT_DIR || path.join(here, '../../target/screenshots'));
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const alertTimeout = Number(process.env.ALERT_TIMEOUT_S || 180) * 1000;

if (!base || !user || !password) {
  console.error('wall.test.mjs: set VEGHE_URL, VEGHE_USER and VEGHE_PASSWORD');
  process.exit(2);
}
if (!fs.existsSync(executablePath)) {
  console.error(`wall.test.mjs: no Chromium at ${executablePath}: install Debian's chromium (apt-get install chromium)`);
  process.exit(2);
}
fs.mkdirSync(shots, { recursive: true });

const host = new URL(base).host;
const problems = [];
const saved = [];
let step = 'start';

function log(msg) { console.log(`[wall] ${msg}`); }
function fail(msg) { throw new Error(msg); }

async function shot(page, name) {
  const file = path.join(shots, `wall-${name}.png`);
  await page.screenshot({ path: file });
  saved.push(file);
  console.log(`screenshot: ${file}`);
}

/// Records what must never happen on the wall: uncaught errors, requests to another
/// origin (no CDN: everything is bundled), server errors.
function watch(page, who) {
  page.on('pageerror', (e) => problems.push(`${who}: uncaught ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') log(`${who} console: ${m.text()}`); });
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith('data:') && !u.startsWith('blob:') && new URL(u).host !== host) {
      problems.push(`${who}: request to another origin: ${u}`);
    }
  });
  page.on('response', (r) => { if (r.status() >= 500) problems.push(`${who}: ${r.status()} for ${r.url()}`); });
}

async function signIn(page, who) {
  await page.goto(`${base}/wall`);
  await page.locator('#login-form').waitFor({ state: 'visible', timeout: 15_000 });
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#wall-view').waitFor({ state: 'visible', timeout: 15_000 });
  await page.locator('#conn[data-state="connected"]').waitFor({ timeout: 20_000 });
  // A marker that a reload would wipe: the checks below prove nothing reloaded.
  await page.evaluate(() => { window.__vegheNoReload = 'still here'; });
  log(`${who} signed in and connected`);
}

async function notReloaded(page, who) {
  const mark = await page.evaluate(() => window.__vegheNoReload);
  if (mark !== 'still here') fail(`${who}'s page was reloaded`);
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});

let code = 0;
const pages = [];
try {
  // --- first dispatcher session ------------------------------------------------------
  step = 'sign in (first session)';
  const ctxA = await browser.newContext({ viewport: { width: 1600, height: 900 } });
  const a = await ctxA.newPage();
  pages.push(['first', a]);
  watch(a, 'first');

  await a.goto(`${base}/wall`);
  await a.locator('#login-form').waitFor({ state: 'visible', timeout: 15_000 });
  // A wrong password is refused on the form.
  await a.getByLabel('User name').fill(user);
  await a.getByLabel('Password').fill(`${password}-wrong`);
  await a.getByRole('button', { name: 'Sign in' }).click();
  await a.locator('#login-error').filter({ hasText: /wrong|too many/i }).waitFor({ timeout: 10_000 });
  await shot(a, '01-login-refused');
  await signIn(a, 'first');
  await shot(a, '02-signed-in');

  // --- an alert raised by the pipeline appears without a reload ------------------------
  step = 'wait for a pipeline alert';
  const initial = new Set(await a.locator('#alert-list li.alert').evaluateAll(
    (els) => els.map((e) => e.dataset.alertId)));
  // Camera alerts merge repeated events into one open alert per (camera, rule, zone).
  // Those raised before sign-in are closed (false alarm, through the API with this
  // session's CSRF token), so that the scenes' next events raise new alerts while the
  // page watches (the test runs veghe with a short cooldown).
  const closed = await a.evaluate(async () => {
    const { state } = window.veghe;
    const ids = [...state.alerts.values()].filter((x) => x.kind === 'camera_rule').map((x) => x.id);
    for (const id of ids) {
      const r = await fetch(`/api/v1/alerts/${id}/transitions`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': state.session.csrf_token },
        body: JSON.stringify({ to: 'false_alarm', note: 'browser test: raised before sign-in' }),
      });
      if (!r.ok && r.status !== 409) throw new Error(`closing alert ${id}: ${r.status} ${await r.text()}`);
    }
    return ids;
  });
  if (closed.length) log(`closed ${closed.length} camera alert(s) raised before sign-in: ${closed.join(', ')}`);
  log(`alerts on screen at sign-in: ${initial.size}; waiting up to ${alertTimeout / 1000} s for a new camera alert`);
  const handle = await a.waitForFunction((known) => {
    const li = [...document.querySelectorAll('#alert-list li.alert[data-kind="camera_rule"][data-state="new"]')]
      .find((e) => !known.includes(e.dataset.alertId));
    return li ? li.dataset.alertId : null;
  }, [...initial], { timeout: alertTimeout, polling: 200 });
  const id = await handle.jsonValue();
  await notReloaded(a, 'first');
  const title = await a.locator(`#alert-${id} .title`).textContent();
  log(`alert ${id} appeared live: "${title}"`);
  await shot(a, '03-alert-appeared');

  // --- second session, before the acknowledgement -------------------------------------
  step = 'sign in (second session)';
  const ctxB = await browser.newContext({ viewport: { width: 1600, height: 900 } });
  const b = await ctxB.newPage();
  pages.push(['second', b]);
  watch(b, 'second');
  await signIn(b, 'second');
  await b.locator(`#alert-${id}[data-state="new"]`).waitFor({ timeout: 15_000 });

  // --- select it and acknowledge with one key -----------------------------------------
  step = 'acknowledge with the a key';
  await a.locator(`#alert-${id}`).click();
  await a.locator(`#detail[data-alert-id="${id}"]`).waitFor({ timeout: 10_000 });
  const evidence = await a.evaluate(async (alertId) => {
    const alert = window.veghe.state.alerts.get(Number(alertId));
    if (!alert || !alert.has_evidence) return 'none';
    const img = document.getElementById('evidence');
    for (let i = 0; i < 100 && !(img.complete && img.naturalWidth); i++) await new Promise((r) => setTimeout(r, 100));
    return img.naturalWidth ? `${img.naturalWidth}x${img.naturalHeight}` : 'not loaded';
  }, id);
  if (evidence === 'not loaded') fail('the evidence frame did not load');
  log(`evidence frame: ${evidence}`);
  await shot(a, '04-selected');
  await a.keyboard.press('a');
  await a.locator(`#alert-${id}[data-state="acknowledged"]`).waitFor({ timeout: 10_000 });
  await a.locator('#timeline').filter({ hasText: new RegExp(`Acknowledged by ${user}`) }).waitFor({ timeout: 10_000 });
  await notReloaded(a, 'first');
  await shot(a, '05-acknowledged');

  // --- the second session sees it change, without a reload ----------------------------
  step = 'second session sees the acknowledgement';
  await b.locator(`#alert-${id}[data-state="acknowledged"]`).waitFor({ timeout: 15_000 });
  await notReloaded(b, 'second');
  await b.locator(`#alert-${id}`).click();
  await b.locator('#d-state').filter({ hasText: 'Acknowledged' }).waitFor({ timeout: 10_000 });
  await b.locator('#timeline').filter({ hasText: new RegExp(`Acknowledged by ${user}`) }).waitFor({ timeout: 10_000 });
  await shot(b, '06-second-session-sees-acknowledged');

  // A second `a` on an acknowledged alert does nothing (the button is disabled).
  if (!(await b.locator('#act-ack').isDisabled())) fail('acknowledge still offered on an acknowledged alert');

  if (problems.length) fail(`problems on the pages:\n  ${problems.join('\n  ')}`);
  log(`alert ${id} acknowledged in one session, seen acknowledged in the other`);
} catch (e) {
  code = 1;
  console.error(`[wall] FAILED at "${step}": ${e.message}`);
  if (problems.length) console.error(`[wall] problems:\n  ${problems.join('\n  ')}`);
  for (const [who, page] of pages) {
    try { await shot(page, `failed-${who}`); } catch { /* page gone */ }
  }
} finally {
  await browser.close();
}
console.log(`[wall] screenshots in ${shots}`);
console.log(code === 0 ? '[wall] passed' : '[wall] failed');
process.exit(code);
