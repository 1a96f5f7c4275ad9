/**
 * Fault injection for the virtual drive: scripted faults (the Nth write / filemark / sync / command,
 * the write covering a byte offset, or every command on a cartridge) and random faults drawn from a
 * seeded generator, so a failing run can be replayed exactly.
 */

/**
 * - `write-error`: the write or filemark fails at once with MEDIUM ERROR 0C/00 (current).
 * - `deferred-error`: the write is accepted, but its data fails when the buffer drains it; the drive
 *   reports MEDIUM ERROR 0C/00 with `deferred: true` on the next command (or the sync), and neither
 *   that data nor anything buffered after it reaches the medium.
 * - `sync-failure`: a synchronous filemark fails; the buffered data is lost.
 * - `position-lost`: a synchronous filemark succeeds but the drive ends up one object before where
 *   it should be (READ POSITION disagrees with what the host counted).
 * - `hang`: the command never completes; the drive's command deadline turns it into a timeout.
 * - `unit-attention`: a reset happens; the command fails with UNIT ATTENTION 29/00.
 * - `bad-cartridge`: every write and filemark on the cartridge fails with MEDIUM ERROR.
 */
export type FaultKind =
  | 'write-error'
  | 'deferred-error'
  | 'sync-failure'
  | 'position-lost'
  | 'hang'
  | 'unit-attention'
  | 'bad-cartridge';

export const FAULT_KINDS: readonly FaultKind[] = [
  'write-error',
  'deferred-error',
  'sync-failure',
  'position-lost',
  'hang',
  'unit-attention',
  'bad-cartridge',
];

/** Command classes faults count. A synchronous WRITE FILEMARKS with count > 0 is both `filemark` and `sync`. */
export type FaultOp = 'write' | 'filemark' | 'sync' | 'command';

export type FaultTrigger =
  /** The `nth` (1-based) command of class `op` since the drive was created. */
  | { op: FaultOp; nth: number }
  /** The write whose data covers this byte offset from BOT (user-data bytes). */
  | { atByte: number }
  /** Every eligible command. */
  | { always: true };

export interface ScriptedFault {
  kind: FaultKind;
  /** Defaults to `{ always: true }`. */
  trigger?: FaultTrigger;
  /** Only on this cartridge. */
  barcode?: string;
  /** Fire on every match instead of once (default: once, except `bad-cartridge` which always repeats). */
  repeat?: boolean;
}

export interface RandomFault {
  kind: FaultKind;
  /** Probability per eligible command. */
  perCommand?: number;
  /** Probability per byte written (writes only): a write of n bytes fails with 1 - (1 - p)^n. */
  perByte?: number;
}

export interface FaultPlan {
  scripted?: ScriptedFault[];
  random?: { seed: number; faults: RandomFault[] };
}

/** What the drive is about to do, as faults see it. */
export interface FaultContext {
  ops: ReadonlyArray<Exclude<FaultOp, 'command'>>;
  barcode: string | undefined;
  /** User-data byte offset of the write's first byte, and its length (0 for non-writes). */
  byteStart: number;
  byteLength: number;
}

/** Which command classes a fault kind can strike. */
const ELIGIBLE: Record<FaultKind, ReadonlyArray<FaultOp>> = {
  'write-error': ['write', 'filemark'],
  'deferred-error': ['write', 'filemark'],
  'bad-cartridge': ['write', 'filemark'],
  'sync-failure': ['sync'],
  'position-lost': ['sync'],
  hang: ['command'],
  'unit-attention': ['command'],
};

/** mulberry32: small, fast, and good enough to spread faults; deterministic for a seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function validateFaultPlan(plan: FaultPlan): void {
  for (const [i, f] of (plan.scripted ?? []).entries()) {
    const where = `faults.scripted[${i}]`;
    if (!FAULT_KINDS.includes(f.kind))
      throw new RangeError(`${where}.kind: unknown fault kind "${String(f.kind)}"`);
    const t = f.trigger;
    if (t === undefined || 'always' in t) continue;
    if ('atByte' in t) {
      if (!Number.isSafeInteger(t.atByte) || t.atByte < 0) {
        throw new RangeError(`${where}.trigger.atByte must be a non-negative integer`);
      }
      if (!ELIGIBLE[f.kind].includes('write')) {
        throw new RangeError(`${where}: a byte-offset trigger only suits write faults, not "${f.kind}"`);
      }
      continue;
    }
    if (!['write', 'filemark', 'sync', 'command'].includes(t.op)) {
      throw new RangeError(`${where}.trigger.op must be write, filemark, sync or command`);
    }
    if (!Number.isSafeInteger(t.nth) || t.nth < 1)
      throw new RangeError(`${where}.trigger.nth must be an integer >= 1`);
    const eligible = ELIGIBLE[f.kind];
    if (!eligible.includes('command') && !eligible.includes(t.op)) {
      throw new RangeError(`${where}: "${f.kind}" cannot strike a ${t.op} command`);
    }
  }
  if (plan.random) {
    if (!Number.isFinite(plan.random.seed))
      throw new RangeError('faults.random.seed must be a finite number');
    for (const [i, f] of plan.random.faults.entries()) {
      const where = `faults.random.faults[${i}]`;
      if (!FAULT_KINDS.includes(f.kind))
        throw new RangeError(`${where}.kind: unknown fault kind "${String(f.kind)}"`);
      for (const key of ['perCommand', 'perByte'] as const) {
        const v = f[key];
        if (v !== undefined && !(v >= 0 && v <= 1))
          throw new RangeError(`${where}.${key} must be within [0, 1]`);
      }
      if (f.perByte !== undefined && !ELIGIBLE[f.kind].includes('write')) {
        throw new RangeError(`${where}.perByte only suits write faults, not "${f.kind}"`);
      }
    }
  }
}

/** Decides, command by command, which faults strike. Pure apart from its counters and generator. */
export class FaultInjector {
  readonly #scripted: ScriptedFault[];
  readonly #random: RandomFault[];
  readonly #rng: () => number;
  readonly #counts: Record<FaultOp, number> = { write: 0, filemark: 0, sync: 0, command: 0 };

  constructor(plan: FaultPlan = {}) {
    validateFaultPlan(plan);
    this.#scripted = [...(plan.scripted ?? [])];
    this.#random = [...(plan.random?.faults ?? [])];
    this.#rng = seededRandom(plan.random?.seed ?? 0);
  }

  /** Adds a scripted fault at run time (tests arm faults between commands). */
  arm(fault: ScriptedFault): void {
    validateFaultPlan({ scripted: [fault] });
    this.#scripted.push(fault);
  }

  /** Counts the command and returns the faults that strike it. */
  check(ctx: FaultContext): Set<FaultKind> {
    this.#counts.command++;
    for (const op of ctx.ops) this.#counts[op]++;
    const classes: FaultOp[] = ['command', ...ctx.ops];
    const fired = new Set<FaultKind>();
    for (let i = 0; i < this.#scripted.length; i++) {
      const f = this.#scripted[i]!;
      if (f.barcode !== undefined && f.barcode !== ctx.barcode) continue;
      if (!ELIGIBLE[f.kind].some((op) => classes.includes(op))) continue;
      if (!this.#matches(f.trigger ?? { always: true }, ctx, classes)) continue;
      fired.add(f.kind);
      const repeat = f.repeat ?? f.kind === 'bad-cartridge';
      if (!repeat) this.#scripted.splice(i--, 1);
    }
    for (const f of this.#random) {
      if (!ELIGIBLE[f.kind].some((op) => classes.includes(op))) continue;
      // Draw for every eligible command whatever happened, so one fault does not shift the others.
      const byCommand = f.perCommand !== undefined && this.#rng() < f.perCommand;
      const byBytes =
        f.perByte !== undefined && ctx.byteLength > 0 && this.#rng() < 1 - (1 - f.perByte) ** ctx.byteLength;
      if (byCommand || byBytes) fired.add(f.kind);
    }
    return fired;
  }

  #matches(t: FaultTrigger, ctx: FaultContext, classes: FaultOp[]): boolean {
    if ('always' in t) return true;
    if ('atByte' in t) {
      return (
        ctx.ops.includes('write') && t.atByte >= ctx.byteStart && t.atByte < ctx.byteStart + ctx.byteLength
      );
    }
    return classes.includes(t.op) && this.#counts[t.op] === t.nth;
  }
}
