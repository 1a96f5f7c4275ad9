/**
 * The envelope every control message shares: `v` (protocol version), `type` (the discriminant)
 * and `id` (chosen by the sender, unique per sender). Replies add `re` (the `id` they answer),
 * events add `at` (when it happened).
 */
import { z } from 'zod';
import { epochMs, messageId, PROTOCOL_VERSION } from './fields';

/** Builds a strict message schema: unknown keys are refused, keys are written in this order. */
export function defineMessage<T extends string, S extends z.ZodRawShape>(type: T, shape: S) {
  return z.strictObject({ v: z.literal(PROTOCOL_VERSION), type: z.literal(type), id: messageId, ...shape });
}

/** Shape fields of a reply: `re` is the `id` of the message answered. */
export const replyFields = { re: messageId } as const;

/** Shape fields of an event: `at` is when it happened (epoch ms, the sender's clock). */
export const eventFields = { at: epochMs } as const;

/**
 * Adds an issue for every element whose `key` repeats an earlier element's, at `index.key`.
 * Duplicates are refused because the receiver keys its state by them.
 */
export function uniqueBy<K extends string>(key: K) {
  return (items: readonly { readonly [P in K]: string }[], ctx: z.RefinementCtx) => {
    const seen = new Set<string>();
    items.forEach((item, index) => {
      const value = item[key];
      if (seen.has(value)) {
        ctx.addIssue({ code: 'custom', path: [index, key], message: `duplicate ${key} ${value}` });
      }
      seen.add(value);
    });
  };
}
