// Bundles the browser pages' code (client/*.ts with mediasoup-client) into dist/client/ with esbuild.
import { build } from 'esbuild';

await build({
  entryPoints: ['client/watch.ts', 'client/console.ts'],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: true,
  outdir: 'dist/client',
  logLevel: 'warning',
});
