// What deploy/ ships, each checked with the real tools: the systemd unit passes
// `systemd-analyze verify`, `scripts/install.sh` (make install) puts every file in place, and the
// nginx config passes `nginx -t` and relays a stream to the real nexus-api frame by frame, with
// the client's own address.
//
// Run by `make test` through ctest, which sets NEXUS_BIN and NEXUS_MOCK_BIN.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { start } from '../support/spawn.mjs';

const ROOT = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '../..');
const ADMIN_KEY = 'deploy-admin-key-0123456789abcdef';
const UPSTREAM_KEY = 'sk-mock-deploy-upstream-key-0123';
const children = [];
let work;
let nexusPort;

// Replaces `from` in `text`, failing when the shipped file no longer has it.
function replaceIn(text, from, to) {
  assert.ok(text.includes(from), `deploy/nginx.conf no longer has: ${from}`);
  return text.split(from).join(to);
}

// A port free a moment ago (the kernel's pick), for nginx to listen on.
function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function admin(method, route, body) {
  const res = await fetch(`http://127.0.0.1:${nexusPort}${route}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 201, await res.text());
}

before(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'nexus-deploy-'));
  const mockPort = await start(children, process.env.NEXUS_MOCK_BIN, ['--key', UPSTREAM_KEY], {}, 'stdout', /port (\d+)/);
  nexusPort = await start(
    children,
    process.env.NEXUS_BIN,
    [],
    {
      NEXUS_PORT: '0',
      NEXUS_HOST: '127.0.0.1',
      NEXUS_DATA_DIR: path.join(work, 'data'),
      NEXUS_ADMIN_KEY: ADMIN_KEY,
      NEXUS_ACCESS_LOG: 'false',
      NEXUS_TRUSTED_PROXIES: '127.0.0.1',
    },
    'stderr',
    /listening on [^\s]+:(\d+) /,
  );
  await admin('POST', '/api/channel', {
    type: 'SiliconFlow',
    name: 'mock',
    key: UPSTREAM_KEY,
    base_url: `http://127.0.0.1:${mockPort}`,
  });
  // One token for the client's real address behind nginx, one for nginx's own.
  await admin('POST', '/api/token', { name: 'client', key: 'sk-deploy-client-0123456789', allow_ips: ['127.0.0.2'] });
  await admin('POST', '/api/token', { name: 'proxy', key: 'sk-deploy-proxy-0123456789', allow_ips: ['127.0.0.1'] });
});

after(() => {
  for (const child of children) child.kill('SIGKILL');
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the systemd unit passes systemd-analyze verify', () => {
  // The unit runs the installed binary; here it is the one under test, the rest unchanged.
  const unit = readFileSync(path.join(ROOT, 'deploy/nexus-api.service'), 'utf8');
  const file = path.join(work, 'nexus-api.service');
  writeFileSync(file, replaceIn(unit, 'ExecStart=/usr/local/bin/nexus-api', `ExecStart=${process.env.NEXUS_BIN}`));
  const out = execFileSync('systemd-analyze', ['verify', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(out.trim(), '');
  for (const hardening of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes', 'StateDirectory=nexus-api']) {
    assert.ok(unit.includes(hardening), hardening);
  }
});

test('make install puts the binary, the unit, the settings and the guide in place, and keeps settings', () => {
  const root = path.join(work, 'root');
  const env = { ...process.env, DESTDIR: root, PREFIX: '/opt/nexus' };
  execFileSync(path.join(ROOT, 'scripts/install.sh'), [process.env.NEXUS_BIN], { env, stdio: 'pipe' });
  const mode = (f) => (statSync(path.join(root, f)).mode & 0o777).toString(8);
  assert.equal(mode('opt/nexus/bin/nexus-api'), '755');
  assert.equal(mode('etc/nexus-api/env'), '600');
  assert.equal(mode('etc/systemd/system/nexus-api.service'), '644');
  const unit = readFileSync(path.join(root, 'etc/systemd/system/nexus-api.service'), 'utf8');
  assert.match(unit, /^ExecStart=\/opt\/nexus\/bin\/nexus-api$/m);
  for (const doc of ['operations.md', 'operations.zh-CN.md', 'nginx.conf']) {
    assert.ok(statSync(path.join(root, 'opt/nexus/share/doc/nexus-api', doc)).size > 0, doc);
  }
  writeFileSync(path.join(root, 'etc/nexus-api/env'), 'NEXUS_PORT=3100\n');
  execFileSync(path.join(ROOT, 'scripts/install.sh'), [process.env.NEXUS_BIN], { env, stdio: 'pipe' });
  assert.equal(readFileSync(path.join(root, 'etc/nexus-api/env'), 'utf8'), 'NEXUS_PORT=3100\n');
});

test('the nginx config passes nginx -t and streams through to nexus-api with the client address', async () => {
  // A certificate for localhost, and the shipped config with the test's ports and paths.
  const tls = path.join(work, 'tls');
  mkdirSync(tls);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-days', '1',
    '-keyout', path.join(tls, 'key.pem'), '-out', path.join(tls, 'cert.pem')], { stdio: 'pipe' });
  const httpsPort = await freePort();
  const httpPort = await freePort();
  let site = readFileSync(path.join(ROOT, 'deploy/nginx.conf'), 'utf8');
  site = replaceIn(site, 'server 127.0.0.1:3000;', `server 127.0.0.1:${nexusPort};`);
  site = replaceIn(site, 'listen 443 ssl;', `listen 127.0.0.1:${httpsPort} ssl;`);
  site = replaceIn(site, 'listen 80;', `listen 127.0.0.1:${httpPort};`);
  site = replaceIn(site, 'listen [::]:443 ssl;', '');
  site = replaceIn(site, 'listen [::]:80;', '');
  site = replaceIn(site, '/etc/ssl/certs/gateway.example.com.pem', path.join(tls, 'cert.pem'));
  site = replaceIn(site, '/etc/ssl/private/gateway.example.com.key', path.join(tls, 'key.pem'));
  writeFileSync(path.join(work, 'site.conf'), site);
  const temp = (name) => `${name} ${path.join(work, name)};`;
  writeFileSync(path.join(work, 'nginx.conf'), [
    'daemon off;', 'master_process off;', `pid ${path.join(work, 'nginx.pid')};`,
    `error_log ${path.join(work, 'nginx-error.log')} warn;`, 'events { worker_connections 256; }',
    'http {', `access_log off;`, temp('client_body_temp_path'), temp('proxy_temp_path'), temp('fastcgi_temp_path'),
    temp('uwsgi_temp_path'), temp('scgi_temp_path'), `include ${path.join(work, 'site.conf')};`, '}', '',
  ].join('\n'));
  execFileSync('nginx', ['-t', '-c', path.join(work, 'nginx.conf'), '-p', work], { stdio: 'pipe' });
  await start(children, 'nginx', ['-c', path.join(work, 'nginx.conf'), '-p', work, '-g', 'error_log stderr notice;'],
    {}, 'stderr', /(start worker processes|using the "epoll")/);

  const ca = readFileSync(path.join(tls, 'cert.pem'));
  // POST /v1/chat/completions through nginx from 127.0.0.2; each body chunk with its arrival time.
  const call = (token, body) => new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = https.request({
      host: '127.0.0.1', servername: 'localhost', port: httpsPort, ca, localAddress: '127.0.0.2',
      method: 'POST', path: '/v1/chat/completions',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push({ at: Date.now(), text: c.toString() }));
      res.on('end', () => resolve({ status: res.statusCode, chunks }));
    });
    req.on('error', reject);
    req.end(data);
  });
  const stream = { model: 'deploy', stream: true, messages: [{ role: 'user', content: 'hi' }], mock_frames: 5, mock_interval_ms: 300 };
  const res = await call('sk-deploy-client-0123456789', stream);
  assert.equal(res.status, 200, res.chunks.map((c) => c.text).join(''));
  const text = res.chunks.map((c) => c.text).join('');
  assert.match(text, /data: \[DONE\]/);
  // Frames 300 ms apart upstream arrive apart here: nginx did not hold the answer back.
  const frames = res.chunks.filter((c) => c.text.includes('data: {'));
  assert.ok(frames.length >= 4, `frames arrived in ${frames.length} chunk(s)`);
  assert.ok(frames.at(-1).at - frames[0].at >= 900, `spread ${frames.at(-1).at - frames[0].at} ms`);
  // nexus-api saw the client's address (127.0.0.2), not nginx's.
  const proxy = await call('sk-deploy-proxy-0123456789', stream);
  assert.equal(proxy.status, 403, proxy.chunks.map((c) => c.text).join(''));
});
