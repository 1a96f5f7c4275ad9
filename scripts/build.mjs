// Bundles every runnable entry point (processes, CLI, piscina workers) into
// packages/<pkg>/dist. Library code is consumed from source by the type checker
// and by vitest; only what node runs directly is built. A package lists its
// entry points in package.json under "tapedup.entries".
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const external = [
  'zeromq',
  'better-sqlite3',
  'piscina',
  'msgpackr',
  'msgpackr-extract',
  'pino',
  'pino-pretty',
  'thread-stream',
  '@node-rs/crc32',
];

let count = 0;
for (const dir of readdirSync(join(root, 'packages'))) {
  const pkgFile = join(root, 'packages', dir, 'package.json');
  if (!existsSync(pkgFile)) continue;
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
  const entries = pkg.tapedup?.entries ?? [];
  if (entries.length === 0) continue;
  await build({
    entryPoints: entries.map((e) => join(root, 'packages', dir, e)),
    outdir: join(root, 'packages', dir, 'dist'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    external,
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    logLevel: 'warning',
  });
  count += entries.length;
  console.log(`[build] ${dir}: ${entries.map((e) => basename(e)).join(', ')}`);
}
console.log(`[build] ${count} entry point(s)`);
