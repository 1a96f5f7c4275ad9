/**
 * `tapedup start`: runs the duplicator (and through it one tape-writer per drive) in the foreground
 * with the validated configuration. SIGINT and SIGTERM are passed on once for a graceful stop; a
 * second one stops it at once.
 */
import type { TapedupConfig } from '../config/schema';
import type { Io } from '../output/io';
import { startDuplicator, writeResolvedConfig } from '../process/duplicator';

export async function startCommand(io: Io, config: TapedupConfig): Promise<number> {
  const file = await writeResolvedConfig(config);
  io.err(
    `tapedup: starting the duplicator with ${config.drives.length} drive(s); scheduler ${config.endpoints.scheduler}\n`,
  );
  const running = startDuplicator(file, 'inherit');
  let signals = 0;
  const forward = (signal: NodeJS.Signals) => {
    signals += 1;
    running.child.kill(signals === 1 ? signal : 'SIGKILL');
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    const exit = await running.exited;
    if (exit.signal !== null) return 128 + (signalNumber(exit.signal) ?? 0);
    return exit.code ?? 1;
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return numbers[signal];
}
