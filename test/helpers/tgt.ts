/**
 * A tgtd iSCSI tape target for tests, driven through scripts/tgt-target.sh. `tgtSkipReason()`
 * names what is missing (tgtd, the native addon, root) so suites can skip with that reason.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { nativeAddonStatus } from '../../native/src/index';

const run = promisify(execFile);
const SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'tgt-target.sh');

/** Why tgtd-backed tests cannot run here, or undefined when they can. */
export function tgtSkipReason(): string | undefined {
  const addon = nativeAddonStatus();
  if (!addon.available) return `native addon unavailable: ${addon.reason}`;
  if (!['/usr/sbin/tgtd', '/usr/bin/tgtd'].some((p) => existsSync(p))) {
    return 'tgtd not installed (apt-get install -y tgt)';
  }
  if (process.getuid?.() !== 0) return 'tgtd needs root';
  return undefined;
}

/** A TCP port that was free a moment ago (the kernel picked it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface TgtTarget {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly iqn: string;
  readonly workdir: string;
  /** Cartridge file of a LUN (for `tgtimg --op show`). */
  cartridge(lun: number): string;
  /** A fresh cartridge on a new LUN; returns its number. */
  addLun(): Promise<number>;
  deleteLun(lun: number): Promise<void>;
  /** The running tgtd's pid. */
  pid(): Promise<number>;
  /** SIGKILL tgtd, as a crash would; the cartridges stay. */
  kill(): Promise<void>;
  /** Start tgtd again on the same port and cartridges. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTgtTarget(options: { luns: number }): Promise<TgtTarget> {
  const workdir = await mkdtemp(join(tmpdir(), 'tapedup-tgt-'));
  const script = async (...args: string[]): Promise<string> => (await run('bash', [SCRIPT, ...args])).stdout;
  let port = 0;
  let iqn = '';
  // A port picked by the kernel can be taken again before tgtd binds it; try a few.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      iqn = (await script('start', String(port), String(options.luns), workdir)).trim();
      break;
    } catch (error) {
      await script('stop', workdir).catch(() => undefined);
      if (attempt >= 2) throw error;
    }
  }
  let nextLun = options.luns + 1;
  return {
    host: '127.0.0.1',
    port,
    iqn,
    workdir,
    cartridge: (lun) => join(workdir, `lun${lun}.tape`),
    async addLun() {
      const lun = nextLun++;
      await script('add-lun', workdir, String(lun));
      return lun;
    },
    async deleteLun(lun) {
      await script('del-lun', workdir, String(lun));
    },
    async pid() {
      return Number((await readFile(join(workdir, 'tgtd.pid'), 'utf8')).trim());
    },
    async kill() {
      await script('kill', workdir);
    },
    async resume() {
      await script('resume', workdir);
    },
    async stop() {
      await script('stop', workdir);
      await rm(workdir, { recursive: true, force: true });
    },
  };
}

/** `tgtimg --op show` of a cartridge. */
export async function showCartridge(file: string): Promise<string> {
  return (await run('tgtimg', ['--op', 'show', '--device-type', 'tape', `--file=${file}`])).stdout;
}
