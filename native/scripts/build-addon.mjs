// Builds the N-API addon from source with node-gyp (runs as the package's
// `install` script). Without libiscsi's headers the addon cannot be built: the
// script says why, records the reason next to where the binary would be, and
// exits 0 so the rest of the workspace still installs; the TypeScript loader
// (src/addon.ts) then reports that reason as a typed error and the device tests
// skip with it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const reasonFile = join(root, 'build', 'UNAVAILABLE');
const header = '/usr/include/iscsi/iscsi.h';

function unavailable(reason) {
  mkdirSync(join(root, 'build'), { recursive: true });
  writeFileSync(reasonFile, `${reason}\n`);
  console.warn(`[@tapedup/native] addon not built: ${reason}`);
  process.exit(0);
}

if (!existsSync(header)) {
  unavailable(`${header} is missing; install libiscsi-dev (apt-get install -y libiscsi-dev) and reinstall`);
}

let nodeGyp;
try {
  nodeGyp = createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
} catch {
  unavailable('node-gyp is not installed (pnpm install in the workspace installs it)');
}

rmSync(reasonFile, { force: true });
// nodedir: build against the installed Node headers instead of downloading them.
const result = spawnSync(process.execPath, [nodeGyp, 'rebuild', '--nodedir=/usr'], {
  cwd: root,
  stdio: 'inherit',
});
if (result.status !== 0) {
  console.error('[@tapedup/native] node-gyp rebuild failed');
  process.exit(result.status ?? 1);
}
