// The console in a real browser: Debian's Chromium driven by playwright-core, against the real
// nexus-api binary (which serves the console it embeds) and the mock upstream.
// Run by `make test` through ctest, which sets NEXUS_BIN, NEXUS_MOCK_BIN and NEXUS_ARTEFACTS.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { start } from '../../tests/support/spawn.mjs';
import { chromium } from 'playwright-core';

const ADMIN_KEY = 'console-admin-key-0123456789abcdef';
const ROOT_PASSWORD = 'root-password-for-the-console';
const UPSTREAM_KEY = 'sk-mock-console-upstream-key-0123';
const BOB_PASSWORD = 'bob-password-123';
const SHOTS = process.env.NEXUS_ARTEFACTS ?? path.join(tmpdir(), 'nexus-console-screenshots');

const children = [];
let dataDir;
let base;
let mockPort;
let browser;
let page;
const problems = []; // console errors and CSP violations: there must be none


async function admin(method, route, body) {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${route}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function shot(name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function signIn(username, password) {
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
}

async function setLanguage(lang) {
  await page.selectOption('.lang select', lang);
}

// Reloads `url` until `check` passes (usage rows are written in batches, a second apart).
async function eventually(url, check, timeoutMs = 15000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    await page.goto(url);
    try {
      await check();
      return;
    } catch (e) {
      if (Date.now() > until) throw e;
      await page.waitForTimeout(500);
    }
  }
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  mockPort = await start(children, process.env.NEXUS_MOCK_BIN, ['--key', UPSTREAM_KEY], {}, 'stdout', /port (\d+)/);
  dataDir = mkdtempSync(path.join(tmpdir(), 'nexus-console-'));
  const port = await start(
    children,
    process.env.NEXUS_BIN,
    [],
    {
      NEXUS_PORT: '0',
      NEXUS_HOST: '127.0.0.1',
      NEXUS_DATA_DIR: dataDir,
      NEXUS_ADMIN_KEY: ADMIN_KEY,
      NEXUS_ROOT_PASSWORD: ROOT_PASSWORD,
      NEXUS_THREADS: '2',
      NEXUS_ACCESS_LOG: 'false',
    },
    'stderr',
    /listening on [^\s]+:(\d+) /,
  );
  base = `http://127.0.0.1:${port}`;
  // bob, a plain user with a token of his own.
  const bob = await admin('POST', '/api/user', { username: 'bob', password: BOB_PASSWORD });
  await admin('POST', '/api/token', { name: 'bobs-token', user_id: bob.id });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
});

after(async () => {
  await browser?.close();
  for (const c of children) c.kill('SIGTERM');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('the browser language decides, and a wrong password shows an error', async () => {
  await page.goto(`${base}/`);
  await page.waitForSelector('h1:has-text("登录 nexus-api")');
  await shot('sign-in-zh');
  assert.equal(await page.getAttribute('input[name=username]', 'autocomplete'), 'username');
  assert.equal(await page.getAttribute('input[name=password]', 'autocomplete'), 'current-password');
  await setLanguage('en');
  await signIn('root', 'not-the-password');
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.innerText(), /Incorrect username or password/);
  await shot('sign-in-en');
});

test('root signs in and sees the dashboard', async () => {
  await signIn('root', ROOT_PASSWORD);
  await page.waitForSelector('h1:has-text("Dashboard")');
  await page.waitForSelector('section.dashboard[data-ready=true]');
  for (const name of ['Dashboard', 'Channels', 'Tokens', 'Logs', 'Prices', 'Users', 'Playground', 'Account']) {
    assert.ok(await page.getByRole('link', { name, exact: true }).isVisible(), `${name} in the navigation`);
  }
});

test('a channel pointing at the mock is created and its Test succeeds', async () => {
  await page.getByRole('link', { name: 'Channels', exact: true }).click();
  assert.equal(new URL(page.url()).pathname, '/channels');
  await page.getByRole('button', { name: 'Add channel' }).click();
  const dialog = page.locator('dialog[open]');
  await dialog.locator('select[name=type]').selectOption('OpenAI-Compatible');
  await dialog.locator('input[name=name]').fill('mock upstream');
  await dialog.locator('input[name=base_url]').fill(`http://127.0.0.1:${mockPort}`);
  // A bad mapping is refused next to its field, before anything is sent.
  await dialog.locator('textarea[name=model_mapping]').fill('{not json');
  await dialog.locator('input[name=key]').fill(UPSTREAM_KEY);
  await dialog.getByRole('button', { name: 'Save' }).click();
  assert.match(await dialog.getByRole('alert').innerText(), /not valid JSON/);
  await dialog.locator('textarea[name=model_mapping]').fill('');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached' });
  const row = page.locator('tr', { hasText: 'mock upstream' });
  assert.match(await row.innerText(), /sk-mock/);
  assert.ok(!(await page.content()).includes(UPSTREAM_KEY), 'the key is never shown in full');
  await row.getByRole('button', { name: 'Test' }).click();
  await row.locator('.test-result:has-text("Test passed")').waitFor();
  await shot('channels-en');
});

let tokenKey;
test('a token is created and its key read from the create dialog', async () => {
  await page.getByRole('link', { name: 'Tokens', exact: true }).click();
  await page.getByRole('button', { name: 'Add token' }).click();
  const dialog = page.locator('dialog[open]');
  await dialog.locator('input[name=name]').fill('console token');
  await dialog.locator('input[name=rpm]').fill('many');
  await dialog.getByRole('button', { name: 'Save' }).click();
  assert.match(await dialog.getByRole('alert').innerText(), /whole number/);
  await dialog.locator('input[name=rpm]').fill('600');
  await dialog.getByRole('button', { name: 'Save' }).click();
  const shown = page.locator('dialog[open]', { hasText: 'will not be shown again' });
  await shown.waitFor();
  tokenKey = await shown.locator('input[name=created_key]').inputValue();
  assert.match(tokenKey, /^sk-[A-Za-z0-9]{48}$/);
  await shown.getByRole('button', { name: 'Copy' }).click();
  await shown.getByText('Copied to the clipboard.').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), tokenKey);
  await shot('token-created-en');
  await shown.getByRole('button', { name: 'Done' }).click();
  // The key works with the API, and the list shows it masked only.
  const res = await fetch(`${base}/v1/models`, { headers: { Authorization: `Bearer ${tokenKey}` } });
  assert.equal(res.status, 200);
  assert.ok(!(await page.locator('table').innerText()).includes(tokenKey));
  await shot('tokens-en');
});

test('the Playground streams an answer in steps, and Stop cancels it', async () => {
  await page.getByRole('link', { name: 'Playground', exact: true }).click();
  await page.selectOption('select[name=token]', { label: await tokenLabel('console token') });
  await page.fill('input[name=model]', 'mock-slow-stream');
  await page.fill('textarea[name=message]', 'Say something long');
  await page.getByRole('button', { name: 'Send' }).click();
  const answer = page.locator('li[data-role=assistant] .content');
  const lengths = new Set();
  const until = Date.now() + 10000;
  while (lengths.size < 3 && Date.now() < until) {
    const text = await answer.innerText();
    if (text) lengths.add(text.length);
    await page.waitForTimeout(50);
  }
  assert.ok(lengths.size >= 3, `the answer grew in steps: ${[...lengths]}`);
  await page.getByRole('button', { name: 'Stop' }).click();
  await page.getByRole('status').filter({ hasText: 'Stopped' }).waitFor();
  const stoppedAt = await answer.innerText();
  assert.ok(!stoppedAt.includes('tok39'), 'the stream was cut before its end');
  await page.waitForTimeout(400);
  assert.equal(await answer.innerText(), stoppedAt, 'nothing arrives after Stop');
  // A whole answer, with its usage and latency.
  await page.fill('input[name=model]', 'mock-model');
  await page.fill('textarea[name=message]', 'And a short one');
  await page.getByRole('button', { name: 'Send' }).click();
  const stats = page.getByRole('status').filter({ hasText: 'prompt 5 tokens' });
  await stats.waitFor();
  assert.match(await stats.innerText(), /Latency \d/);
  await shot('playground-en');
});

async function tokenLabel(name) {
  await page.locator('select[name=token] option', { hasText: name }).waitFor({ state: 'attached' });
  const options = await page.locator('select[name=token] option').allInnerTexts();
  const label = options.find((o) => o.startsWith(name));
  assert.ok(label, `${name} among ${options}`);
  return label;
}

test('the call is in Logs, with its details, and counted on the Dashboard', async () => {
  await eventually(`${base}/logs`, async () => {
    await page.locator('td', { hasText: 'mock-slow-stream' }).first().waitFor({ timeout: 1000 });
  });
  await page.locator('tr', { hasText: 'mock-slow-stream' }).first().getByRole('button').click();
  const detail = page.locator('dialog[open]');
  assert.match(await detail.innerText(), /Request id/);
  assert.match(await detail.innerText(), /Attempts\s+1/);
  await shot('log-detail-en');
  await detail.getByRole('button', { name: 'Close' }).click();
  await eventually(`${base}/`, async () => {
    await page.waitForSelector('section.dashboard[data-ready=true]', { timeout: 2000 });
    const calls = await page.locator('[data-card=calls] .card-value').innerText();
    assert.ok(Number(calls.replace(/\D/g, '')) >= 2, `calls: ${calls}`);
  });
  await shot('dashboard-en');
});

test('how soon the dashboard is interactive (reported, not asserted)', async (t) => {
  // From navigation start to charts and numbers drawn from /api/usage, with a warm HTTP cache
  // as a returning admin has it; the median of five loads.
  const times = [];
  for (let i = 0; i < 5; ++i) {
    await page.goto(`${base}/`);
    await page.waitForSelector('section.dashboard[data-ready=true]');
    times.push(await page.evaluate(() => performance.now()));
  }
  times.sort((a, b) => a - b);
  t.diagnostic(`dashboard interactive after ${times[2].toFixed(0)} ms, warm cache (median of 5: ${times.map((x) => x.toFixed(0))})`);
  // And as a first visit: a new browser profile (empty cache) with the same session cookie.
  const cold = [];
  const state = await page.context().storageState();
  for (let i = 0; i < 5; ++i) {
    const context = await browser.newContext({ storageState: state, locale: 'en-GB' });
    const fresh = await context.newPage();
    await fresh.goto(`${base}/`);
    await fresh.waitForSelector('section.dashboard[data-ready=true]');
    cold.push(await fresh.evaluate(() => performance.now()));
    await context.close();
  }
  cold.sort((a, b) => a - b);
  t.diagnostic(`dashboard interactive after ${cold[2].toFixed(0)} ms, empty cache (median of 5: ${cold.map((x) => x.toFixed(0))})`);
  assert.equal(cold.length, 5);
});

test('English and back to 中文, remembered across a reload', async () => {
  await setLanguage('zh');
  await page.getByRole('link', { name: '渠道', exact: true }).waitFor();
  await page.reload();
  await page.getByRole('link', { name: '渠道', exact: true }).waitFor();
  await setLanguage('en');
  await page.getByRole('link', { name: 'Channels', exact: true }).waitFor();
  await page.reload();
  await page.getByRole('link', { name: 'Channels', exact: true }).waitFor();
});

test('every page opens from its URL, in both languages (screenshots)', async () => {
  for (const lang of ['en', 'zh']) {
    await setLanguage(lang);
    for (const p of ['', 'channels', 'tokens', 'logs', 'prices', 'users', 'playground', 'account']) {
      await page.goto(`${base}/${p}`);
      await page.waitForSelector('main h1');
      assert.ok(!(await page.locator('main h1').innerText()).match(/not found|不存在/i), p);
      if (p === '') await page.waitForSelector('section.dashboard[data-ready=true]');
      await shot(`${p || 'dashboard'}-${lang}`);
    }
  }
  await setLanguage('en');
});

test('at 390 px wide nothing overflows the page', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  for (const p of ['', 'channels', 'tokens', 'logs']) {
    await page.goto(`${base}/${p}`);
    await page.waitForSelector('main h1');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `/${p} is ${width} px wide`);
  }
  await shot('dashboard-390');
  await page.setViewportSize({ width: 1280, height: 900 });
});

test('a plain user sees only his own tokens, and no Channels page', async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForSelector('input[name=username]');
  await signIn('bob', BOB_PASSWORD);
  await page.waitForSelector('h1:has-text("Dashboard")');
  assert.equal(await page.getByRole('link', { name: 'Channels', exact: true }).count(), 0);
  assert.equal(await page.getByRole('link', { name: 'Users', exact: true }).count(), 0);
  await page.getByRole('link', { name: 'Tokens', exact: true }).click();
  await page.locator('td', { hasText: 'bobs-token' }).waitFor();
  assert.equal(await page.locator('td', { hasText: 'console token' }).count(), 0);
  await page.goto(`${base}/channels`);
  assert.match(await page.getByRole('alert').innerText(), /Not allowed/);
  await shot('not-allowed-en');
});

test('no script error and no Content-Security-Policy violation on any page', () => {
  // The wrong password's 401 is the one expected failed request.
  const unexpected = problems.filter((p) => !/status of 401/.test(p));
  assert.deepEqual(unexpected, []);
});
