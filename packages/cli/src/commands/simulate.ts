/**
 * `tapedup simulate`: the discrete-event simulation of the planner, the sync-deferral policy and the
 * tape-writer engine on virtual drives (model time, synthetic payloads), one line per policy.
 */
import { readFile } from 'node:fs/promises';
import {
  comparePolicies,
  HISTORY_MODES,
  type HistoryMode,
  isPresetName,
  PRESETS,
  parsePolicyList,
  parseWorkload,
  SimulatorError,
  SUMMARY_COLUMNS,
  summaryRows,
  textTable,
  type Workload,
} from '@tapedup/simulator';
import { CliError, invalidOption } from '../errors';
import { type Io, printJson } from '../output/io';

export interface SimulateOptions {
  /** A preset (W1–W5) or a JSON workload file. */
  readonly workload: string;
  /** `all`, one policy or a comma-separated list. */
  readonly policy: string;
  readonly seeds?: number | undefined;
  readonly profile?: string | undefined;
  readonly faultRate?: number | undefined;
  /** `cold` (no drive history) or `workload` (the workload's history, restored as at start-up). */
  readonly history?: string | undefined;
  /** The writer packs small deferred images into shared fragments (engine option `packImages`). */
  readonly packImages?: boolean | undefined;
  readonly json: boolean;
}

const PROFILES = ['LTO-7', 'LTO-8', 'LTO-9'] as const;

async function loadWorkload(spec: string): Promise<Workload> {
  if (isPresetName(spec)) return PRESETS[spec];
  let text: string;
  try {
    text = await readFile(spec, 'utf8');
  } catch {
    throw invalidOption('--workload', `must be W1..W5 or a readable JSON file, got ${JSON.stringify(spec)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw invalidOption('--workload', `${spec} is not JSON: ${(error as Error).message}`);
  }
  return parseWorkload(parsed, spec.replace(/^.*\//, '').replace(/\.json$/, ''));
}

/** Runs the simulation and prints a table (or JSON); returns the exit status. */
export async function simulateCommand(io: Io, options: SimulateOptions): Promise<number> {
  if (options.profile !== undefined && !(PROFILES as readonly string[]).includes(options.profile)) {
    throw invalidOption(
      '--profile',
      `must be one of ${PROFILES.join(', ')}, got ${JSON.stringify(options.profile)}`,
    );
  }
  if (options.faultRate !== undefined && !(options.faultRate >= 0 && options.faultRate < 1)) {
    throw invalidOption('--fault-rate', `must be errors per byte in [0, 1), got ${options.faultRate}`);
  }
  const history = options.history ?? 'cold';
  if (!(HISTORY_MODES as readonly string[]).includes(history)) {
    throw invalidOption(
      '--history',
      `must be one of ${HISTORY_MODES.join(', ')}, got ${JSON.stringify(options.history)}`,
    );
  }
  try {
    const workload = await loadWorkload(options.workload);
    const policies = parsePolicyList(options.policy);
    const comparison = await comparePolicies({
      workload,
      policies,
      seeds: options.seeds,
      profile: options.profile as (typeof PROFILES)[number] | undefined,
      faultRatePerByte: options.faultRate,
      history: history as HistoryMode,
      ...(options.packImages === true ? { writerOptions: { packImages: true } } : {}),
      onRun: (r) => {
        if (!options.json)
          io.err(`  ${r.policy} seed ${r.seed}: ${r.elapsedSeconds.toFixed(1)} s model time\n`);
      },
    });
    if (options.json) {
      printJson(io, {
        workload,
        summaries: comparison.summaries,
        runs: comparison.runs,
        sweep: comparison.sweep,
      });
    } else {
      io.out(`${textTable(SUMMARY_COLUMNS, summaryRows(comparison.summaries))}\n`);
    }
    return 0;
  } catch (error) {
    if (error instanceof SimulatorError) {
      throw new CliError('INVALID_OPTION', error.message, { field: error.field ?? '--workload' });
    }
    throw error;
  }
}
