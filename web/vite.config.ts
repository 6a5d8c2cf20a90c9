import { defineConfig } from 'vite';

// The console is embedded in the nexus-api binary (scripts/embed.mjs): hashed file names under
// /assets, no inline script (the server's Content-Security-Policy forbids it), nothing fetched
// from elsewhere. `npm run dev` proxies /api and /v1 to a nexus-api on :3000.
export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    target: 'es2022',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    chunkSizeWarningLimit: 200,
  },
  server: { proxy: { '/api': 'http://127.0.0.1:3000', '/v1': 'http://127.0.0.1:3000' } },
  test: { include: ['src/**/*.test.ts'] },
});
