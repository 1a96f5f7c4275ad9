/**
 * Seeded random numbers for workload generation: the same seed always yields the same workload.
 */
import { seededRandom } from '@tapedup/virtual-drive';

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
}

export function createRandom(seed: number): Random {
  const uniform = seededRandom(seed);
  let spare: number | undefined;
  return {
    next: uniform,
    normal() {
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return s;
      }
      // 1 - u keeps the logarithm's argument in (0, 1].
      const r = Math.sqrt(-2 * Math.log(1 - uniform()));
      const theta = 2 * Math.PI * uniform();
      spare = r * Math.sin(theta);
      return r * Math.cos(theta);
    },
  };
}

/** Log-normal with the given median and σ of the underlying normal. */
export function logNormal(random: Random, median: number, sigma: number): number {
  return median * Math.exp(sigma * random.normal());
}

/** Log-uniform between `min` and `max`: every factor of 2 in the range is equally likely. */
export function logUniform(random: Random, min: number, max: number): number {
  return min * (max / min) ** random.next();
}
