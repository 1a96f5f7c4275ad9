/**
 * Throughput of WRITE(6) with 256 KiB blocks over iSCSI to a local tgtd: the TypeScript device
 * (IscsiTapeDevice, one command in flight, each on a libuv worker) against a plain C loop over
 * libiscsi (native/bench/write6-loop.c, compiled here with cc -liscsi). Both end with a
 * synchronous zero-count filemark, so both numbers include getting the data to the cartridge file.
 *
 *   node --import tsx scripts/bench-iscsi.ts [blocks=800]
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { IscsiTapeDevice } from '../native/src/index';
import { startTgtTarget, tgtSkipReason } from '../test/helpers/tgt';

const run = promisify(execFile);
const BLOCK = 256 * 1024;
const blocks = Number(process.argv[2] ?? 800);

async function main(): Promise<void> {
  const skip = tgtSkipReason();
  if (skip !== undefined) throw new Error(`cannot benchmark: ${skip}`);
  // Room for the whole run on each cartridge (thin-provisioned, so nothing is allocated up front).
  process.env.TAPEDUP_TGT_CARTRIDGE_MB ??= String(Math.ceil((blocks * BLOCK) / 1e6) + 64);
  const target = await startTgtTarget({ luns: 2 });
  const binDir = await mkdtemp(join(tmpdir(), 'tapedup-bench-'));
  try {
    const bin = join(binDir, 'write6-loop');
    await run('cc', [
      '-O2',
      '-o',
      bin,
      join(import.meta.dirname, '..', 'native', 'bench', 'write6-loop.c'),
      '-liscsi',
    ]);
    const c = (
      await run(bin, [`${target.host}:${target.port}`, target.iqn, '1', String(BLOCK), String(blocks)])
    ).stdout
      .trim()
      .split(' ');
    const device = new IscsiTapeDevice({
      host: target.host,
      port: target.port,
      targetIqn: target.iqn,
      lun: 2,
    });
    await device.open();
    const data = new Uint8Array(BLOCK).map((_, i) => (i * 7) & 0xff);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < blocks; i++) await device.writeBlock(data);
    await device.writeFilemarks(0, { immediate: false });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    await device.close();
    const ts = (BLOCK * blocks) / seconds / 1e6;
    console.log(`blocks: ${blocks} x ${BLOCK} bytes`);
    console.log(`C loop (libiscsi sync): ${c[2]} MB/s (${c[1]} s)`);
    console.log(`TypeScript IscsiTapeDevice: ${ts.toFixed(1)} MB/s (${seconds.toFixed(3)} s)`);
  } finally {
    await target.stop();
    await rm(binDir, { recursive: true, force: true });
  }
}

await main();
