/**
 * The checks a well-formed `submit` must pass before anything is recorded: the pool and DSUs are
 * configured, no source path leaves its DSU root, disk images exist with the size claimed, the
 * copies fit the drives, and the policy overrides are valid. Each refusal names the field.
 */
import { isAbsolute, relative, resolve } from 'node:path';
import type { MessageOf } from '@tapedup/protocol';
import { resolveSyncSettings, SettingsError, type SyncSettings } from '../policy';

export interface SubmitRefusal {
  readonly code: string;
  readonly message: string;
  readonly field?: string;
}

/** Size of a regular file under a DSU root, or undefined when there is none; injected I/O. */
export type SourceInspector = (absolutePath: string) => { readonly size: number } | undefined;

export interface SubmitCheckContext {
  readonly pools: ReadonlySet<string>;
  readonly dsu: Readonly<Record<string, string>>;
  readonly drives: number;
  /** `stream` images are accepted (a directory for their endpoints is configured). */
  readonly streams?: boolean;
  readonly policyLayers: (pool: string) => { source: string; values: unknown }[];
  readonly inspect?: SourceInspector | undefined;
}

/** Absolute path of `rel` under `root`, or undefined when it would leave the root. */
export function resolveUnderRoot(root: string, rel: string): string | undefined {
  if (isAbsolute(rel) || rel.includes('\\') || rel.includes('\0')) return undefined;
  const full = resolve(root, rel);
  const back = relative(root, full);
  if (back === '' || back.startsWith('..') || isAbsolute(back)) return undefined;
  return full;
}

/** The effective sync settings of the request, or the refusal naming the override at fault. */
export function checkSubmit(
  message: MessageOf<'submit'>,
  ctx: SubmitCheckContext,
): { ok: true; settings: SyncSettings } | { ok: false; refusal: SubmitRefusal } {
  const refuse = (code: string, text: string, field: string) => ({
    ok: false as const,
    refusal: { code, message: text, field },
  });
  if (!ctx.pools.has(message.pool)) {
    return refuse('UNKNOWN_POOL', `pool ${message.pool} is not configured`, 'pool');
  }
  if (ctx.drives === 0) return refuse('NO_DRIVES', 'no drive is configured', 'copies');
  if (message.copies > ctx.drives) {
    return refuse(
      'TOO_MANY_COPIES',
      `${message.copies} copies need ${message.copies} drives; ${ctx.drives} configured`,
      'copies',
    );
  }
  for (const [i, image] of message.images.entries()) {
    const source = image.source;
    if (source.kind === 'stream') {
      if (ctx.streams === true) continue;
      return refuse(
        'UNSUPPORTED_SOURCE',
        'stream images are not accepted: no stream endpoint directory is configured',
        `images.${i}.source.kind`,
      );
    }
    const root = ctx.dsu[source.dsu];
    if (root === undefined) {
      return refuse(
        'UNKNOWN_DSU',
        `disk storage unit ${source.dsu} is not configured`,
        `images.${i}.source.dsu`,
      );
    }
    const full = resolveUnderRoot(root, source.path);
    if (full === undefined) {
      return refuse('PATH_OUTSIDE_DSU', 'the path leaves its disk storage unit', `images.${i}.source.path`);
    }
    if (ctx.inspect !== undefined) {
      const found = ctx.inspect(full);
      if (found === undefined) {
        return refuse(
          'SOURCE_NOT_FOUND',
          `no file ${source.path} on ${source.dsu}`,
          `images.${i}.source.path`,
        );
      }
      if (found.size !== image.sizeBytes) {
        return refuse(
          'SIZE_MISMATCH',
          `the file holds ${found.size} bytes, not ${image.sizeBytes}`,
          `images.${i}.sizeBytes`,
        );
      }
    }
  }
  try {
    const layers = ctx.policyLayers(message.pool);
    if (message.policy !== undefined) layers.push({ source: 'request', values: message.policy });
    return { ok: true, settings: resolveSyncSettings(layers) };
  } catch (error) {
    if (error instanceof SettingsError) {
      const field = error.source === 'request' ? `policy.${error.setting}` : 'pool';
      return refuse('INVALID_POLICY', error.message, field);
    }
    throw error;
  }
}
