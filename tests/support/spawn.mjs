// What the Node.js suites (tests/sdk, web/e2e) share: starting the real binaries.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * Starts `bin` (kept in `children`, for the caller to stop) and resolves with the first group
 * of `pattern` once its output on `stream` matches it; rejects if it exits or takes 30 s.
 */
export function start(children, bin, args, env, stream, pattern) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${bin} did not start: ${seen}`)), 30000);
    child[stream].on('data', (chunk) => {
      seen += chunk.toString();
      const m = seen.match(pattern);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`${bin} exited with ${code}: ${seen}`)));
  });
}

/**
 * What the SDK suites start: the mock upstream (NEXUS_MOCK_BIN) taking `upstreamKey`, and
 * nexus-api (NEXUS_BIN) on a free port with a fresh data directory, the admin key `adminKey`
 * and `env` on top of the suites' defaults. Resolves with the server's root URL, the mock's
 * base URL, an `admin(method, route, body, status = 201)` call that asserts its status and
 * returns the parsed answer, and `stop()`, which ends both and removes the data directory.
 */
export async function startRelay({ upstreamKey, adminKey, env = {} }) {
  const children = [];
  const dataDir = mkdtempSync(path.join(tmpdir(), 'nexus-sdk-'));
  const stop = () => {
    for (const child of children) child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  };
  const nexusBin = process.env.NEXUS_BIN;
  const mockBin = process.env.NEXUS_MOCK_BIN;
  assert.ok(nexusBin && mockBin, 'NEXUS_BIN and NEXUS_MOCK_BIN must name the binaries');
  const mockPort = await start(children, mockBin, ['--key', upstreamKey], {}, 'stdout', /port (\d+)/);
  const port = await start(
    children,
    nexusBin,
    [],
    {
      NEXUS_PORT: '0',
      NEXUS_HOST: '127.0.0.1',
      NEXUS_DATA_DIR: dataDir,
      NEXUS_ADMIN_KEY: adminKey,
      NEXUS_THREADS: '2',
      NEXUS_ACCESS_LOG: 'false',
      ...env,
    },
    'stderr',
    /listening on [^\s]+:(\d+) /,
  );
  const root = `http://127.0.0.1:${port}`;
  async function admin(method, route, body, status = 201) {
    const res = await fetch(`${root}${route}`, {
      method,
      headers: { Authorization: `Bearer ${adminKey}`, 'Content-Type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    assert.equal(res.status, status, text);
    return text ? JSON.parse(text) : undefined;
  }
  return { root, upstream: `http://127.0.0.1:${mockPort}`, admin, stop };
}
