import { describe, expect, it } from 'vitest';
import { SettingsError } from './errors';
import { DEFAULT_SYNC_SETTINGS, resolveSyncSettings, validateSyncSettings } from './settings';

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('sync settings', () => {
  it('layers pool then request overrides over the defaults', () => {
    const s = resolveSyncSettings([
      { source: 'pool "archive"', values: { policy: 'fixed', fixedBatchImages: 16, maxDeferredImages: 50 } },
      { source: 'request r-1', values: { maxDeferredImages: 10, mpxFactor: 4 } },
    ]);
    expect(s).toEqual({
      ...DEFAULT_SYNC_SETTINGS,
      policy: 'fixed',
      fixedBatchImages: 16,
      maxDeferredImages: 10,
    });
    expect(resolveSyncSettings([])).toEqual(DEFAULT_SYNC_SETTINGS);
  });

  it.each([
    ['maxDeferredImages', -1],
    ['maxDeferredImages', 1.5],
    ['maxDeferredBytes', '1G'],
    ['maxSecondsWithoutSync', 0],
    ['maxDeferrableImageBytes', Number.NaN],
    ['fixedBatchImages', 0],
    ['ctaMaxFiles', 0],
    ['ctaMaxBytes', -5],
    ['policy', 'fastest'],
  ])('rejects %s = %s naming the setting and its source', (setting, value) => {
    const err = caught(() => resolveSyncSettings([{ source: 'pool "p"', values: { [setting]: value } }]));
    expect(err).toBeInstanceOf(SettingsError);
    expect(err).toMatchObject({ code: 'INVALID_SETTING', setting, source: 'pool "p"' });
    expect((err as Error).message).toContain(setting);
    expect((err as Error).message).toContain('pool "p"');
  });

  it('rejects unknown keys (typos) and non-objects', () => {
    expect(caught(() => validateSyncSettings('config', { maxDefferedImages: 3 }))).toMatchObject({
      code: 'UNKNOWN_SETTING',
      setting: 'maxDefferedImages',
    });
    expect(caught(() => validateSyncSettings('config', 'adaptive'))).toMatchObject({
      code: 'INVALID_SETTING',
    });
  });

  it('accepts 0 deferred images, which turns deferral off', () => {
    expect(validateSyncSettings('r', { maxDeferredImages: 0, maxDeferredBytes: 0 })).toEqual({
      maxDeferredImages: 0,
      maxDeferredBytes: 0,
    });
  });
});
