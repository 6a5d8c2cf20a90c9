// What the Node.js suites (tests/sdk, web/e2e) share: starting the real binaries.
import { spawn } from 'node:child_process';

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
