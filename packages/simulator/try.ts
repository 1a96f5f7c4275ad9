import { namedPolicy } from './src/policies';
import { simulate } from './src/simulation';
import { PRESETS, scaleWorkload } from './src/workload';

const w = process.argv[2] ?? 'W1';
const f = Number(process.argv[3] ?? 0.1);
for (const p of ['sync-every', 'fixed', 'cta', 'adaptive'] as const) {
  const t = performance.now();
  const r = await simulate({
    workload: scaleWorkload((PRESETS as any)[w], f),
    policy: namedPolicy(p),
    seed: 1,
  });
  console.log(
    p,
    r.writer,
    ((performance.now() - t) / 1000).toFixed(2) + 's wall',
    r.elapsedSeconds.toFixed(1),
    r.limitRatio.toFixed(4),
    r.syncs,
    r.backhitches,
    r.failedBatches,
    r.failedCopies,
    JSON.stringify(r.reasons),
    JSON.stringify(r.commitLatencySeconds),
  );
}
