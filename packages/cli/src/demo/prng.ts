/**
 * Deterministic pseudo-random numbers for the demo's sample data (not for security): xoshiro128**
 * seeded through splitmix32, so a seed always yields the same sizes and the same bytes.
 */

function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Prng {
  readonly #s = new Uint32Array(4);

  constructor(seed: number) {
    const next = splitmix32(seed);
    for (let i = 0; i < 4; i++) this.#s[i] = next();
    if (this.#s.every((v) => v === 0)) this.#s[0] = 1;
  }

  /** The next 32-bit unsigned value. */
  nextU32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 0x1_0000_0000;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    let u = this.next();
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Fills `out` with pseudo-random bytes (whole 32-bit words; a tail shorter than 4 bytes too). */
  fill(out: Uint8Array): void {
    const words = out.length >>> 2;
    const view = new Uint32Array(out.buffer, out.byteOffset, words);
    if (out.byteOffset % 4 !== 0) throw new RangeError('fill needs a 4-byte aligned buffer');
    for (let i = 0; i < words; i++) view[i] = this.nextU32();
    for (let i = words * 4; i < out.length; i++) out[i] = this.nextU32() & 0xff;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
