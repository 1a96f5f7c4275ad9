import type { ScsiErrorCategory, TapeDeviceCapabilities } from '@tapedup/scsi';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  DUPLICATOR_EVENT_TYPES,
  DUPLICATOR_REPLY_TYPES,
  DUPLICATOR_TO_WRITER_TYPES,
  isMessageType,
  MESSAGE_TYPES,
  type MessageOf,
  messageSchema,
  messageSchemas,
  SCHEDULER_REQUEST_TYPES,
  WRITER_TO_DUPLICATOR_TYPES,
} from './catalogue';
import type { Capabilities, Sense } from './fields';
import { SAMPLES } from './testing/samples';

describe('catalogue', () => {
  it('every type is sent in at least one direction, and only error is shared', () => {
    const groups = [
      SCHEDULER_REQUEST_TYPES,
      DUPLICATOR_REPLY_TYPES,
      DUPLICATOR_EVENT_TYPES,
      WRITER_TO_DUPLICATOR_TYPES,
      DUPLICATOR_TO_WRITER_TYPES,
    ];
    const all = groups.flat();
    expect(new Set(all)).toEqual(new Set(MESSAGE_TYPES));
    const repeated = all.filter((t, i) => all.indexOf(t) !== i);
    expect(new Set(repeated)).toEqual(new Set(['error']));
  });

  it('the union schema and the per-type schemas agree on every sample', () => {
    for (const type of MESSAGE_TYPES) {
      expect(messageSchema.parse(SAMPLES[type])).toEqual(SAMPLES[type]);
      expect(messageSchemas[type].shape.type.value).toBe(type);
    }
    expect(MESSAGE_TYPES).toHaveLength(27);
  });

  it('isMessageType ignores inherited names', () => {
    expect(isMessageType('submit')).toBe(true);
    expect(isMessageType('toString')).toBe(false);
  });

  it('mirrors the SCSI contract types exactly', () => {
    expectTypeOf<Capabilities>().toEqualTypeOf<TapeDeviceCapabilities>();
    expectTypeOf<Sense['category']>().toEqualTypeOf<ScsiErrorCategory>();
    expectTypeOf<MessageOf<'hello'>['capabilities']>().toEqualTypeOf<TapeDeviceCapabilities>();
  });
});
