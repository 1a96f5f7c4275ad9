/**
 * Child process for the library's multi-process tests (run with `node --import tsx`):
 * - `hold <lock-path>`: takes the lock, prints `locked`, releases it when stdin says `release`
 *   (or never, if killed);
 * - `allocate <library-dir> <pool> <count>`: allocates `count` scratch cartridges, prints them as JSON.
 */

import { createInterface } from 'node:readline';
import { VirtualLibrary } from './library';
import { acquireLock } from './library-lock';

const [mode, target, ...rest] = process.argv.slice(2);

async function main(): Promise<void> {
  if (mode === 'hold' && target !== undefined) {
    const release = await acquireLock(target, { timeoutMs: 10_000 });
    process.stdout.write('locked\n');
    for await (const line of createInterface({ input: process.stdin })) {
      if (line === 'release') break;
    }
    await release();
    process.stdout.write('released\n');
    return;
  }
  if (mode === 'allocate' && target !== undefined) {
    const [pool = 'default', count = '1'] = rest;
    const library = await VirtualLibrary.open(target, { pools: { default: 12 }, capacityBytes: 1024 * 1024 });
    const barcodes: string[] = [];
    for (let k = 0; k < Number(count); k += 1) barcodes.push(await library.allocateScratch(pool));
    process.stdout.write(`${JSON.stringify(barcodes)}\n`);
    return;
  }
  throw new Error(
    `usage: hold <lock> | allocate <dir> <pool> <count>, got ${process.argv.slice(2).join(' ')}`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
