/**
 * Copy ids on the writer socket. The catalog numbers copies; the wire names one copy in one
 * attempt (`c<copy>.a<attempt>`), so a late report about an earlier attempt can never be taken
 * for the current one.
 */

const WIRE_COPY_ID = /^c([1-9][0-9]{0,14})\.a([1-9][0-9]{0,3})$/;

export function wireCopyId(copyId: number, attempt: number): string {
  return `c${copyId}.a${attempt}`;
}

/** The catalog copy id and attempt named by a wire copy id, or undefined when it is not one of ours. */
export function parseWireCopyId(wire: string): { copyId: number; attempt: number } | undefined {
  const m = WIRE_COPY_ID.exec(wire);
  if (m === null) return undefined;
  return { copyId: Number(m[1]), attempt: Number(m[2]) };
}
