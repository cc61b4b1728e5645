// Bundles the CLI into dist/ so that bin/rotation-watcher runs right after `npm ci`.
// Dependencies stay external: they are in node_modules next to it.
import { build } from 'esbuild';

await build({
  entryPoints: { cli: 'lib/cli/main.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
