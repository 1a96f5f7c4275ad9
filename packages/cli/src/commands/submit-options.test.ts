import { describe, expect, it } from 'vitest';
import { CliError } from '../errors';
import { parseDeadline, parseSubmitOptions } from './submit-options';

const context = { pools: ['default', 'offsite'], dsus: ['dsu1'], now: 1_700_000_000_000 };

function refused(fn: () => unknown): CliError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return error as CliError;
  }
  throw new Error('expected a refusal');
}

describe('parseSubmitOptions', () => {
  it('fills defaults: one copy, priority 50, the first pool', () => {
    expect(parseSubmitOptions({ list: 'images.txt' }, context)).toEqual({
      source: { kind: 'list', file: 'images.txt' },
      copies: 1,
      priority: 50,
      pool: 'default',
      policy: undefined,
      deadline: undefined,
      idPrefix: undefined,
    });
  });

  it('splits --dir into DSU and subdirectory and carries every option', () => {
    const plan = parseSubmitOptions(
      {
        dir: 'dsu1:hosts/web',
        copies: '2',
        priority: '90',
        pool: 'offsite',
        policy: 'fixed',
        deadline: '+2h',
      },
      context,
    );
    expect(plan.source).toEqual({ kind: 'dir', dsu: 'dsu1', subdir: 'hosts/web' });
    expect(plan).toMatchObject({ copies: 2, priority: 90, pool: 'offsite', policy: { policy: 'fixed' } });
    expect(plan.deadline).toBe(context.now + 2 * 3_600_000);
  });

  it.each([
    [{}, '--list'],
    [{ list: 'a', json: 'b' }, '--json'],
    [{ list: 'a', copies: '9' }, '--copies'],
    [{ list: 'a', copies: 'two' }, '--copies'],
    [{ list: 'a', priority: '101' }, '--priority'],
    [{ list: 'a', pool: 'nearline' }, '--pool'],
    [{ list: 'a', policy: 'never' }, '--policy'],
    [{ list: 'a', deadline: 'tomorrow' }, '--deadline'],
    [{ dir: 'dsu7:x' }, '--dir'],
    [{ list: 'a', idPrefix: 'a b' }, '--id-prefix'],
  ])('refuses %o naming %s', (raw, option) => {
    const e = refused(() => parseSubmitOptions(raw, context));
    expect(e.code).toBe('INVALID_OPTION');
    expect(e.field).toBe(option);
    expect(e.message).toContain(option);
  });
});

describe('parseDeadline', () => {
  it('reads ISO dates, epoch ms and durations', () => {
    expect(parseDeadline('2030-01-01T00:00:00Z', context.now)).toBe(Date.UTC(2030, 0, 1));
    expect(parseDeadline('1900000000000', context.now)).toBe(1_900_000_000_000);
    expect(parseDeadline('+30m', context.now)).toBe(context.now + 1_800_000);
    expect(parseDeadline('+1.5d', context.now)).toBe(context.now + 129_600_000);
  });

  it('refuses a deadline in the past', () => {
    expect(() => parseDeadline('2001-01-01T00:00:00Z', context.now)).toThrow(/future/);
  });
});
