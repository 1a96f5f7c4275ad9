/** Where commands print: injected so tests capture it and commands stay free of `process`. */
export interface Io {
  /** Results (stdout). */
  out(text: string): void;
  /** Progress and diagnostics (stderr). */
  err(text: string): void;
  /** True when stderr is a terminal: live progress lines may be redrawn in place. */
  readonly live: boolean;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text),
  live: process.stderr.isTTY === true,
};

/** Prints `value` as one JSON document. */
export function printJson(io: Io, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}
