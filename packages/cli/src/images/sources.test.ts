import { describe, expect, it } from 'vitest';
import { CliError } from '../errors';
import { parseFileList, parseImageJson } from './sources';

function caught(fn: () => unknown): CliError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return error as CliError;
  }
  throw new Error('expected a refusal');
}

describe('parseFileList', () => {
  it('reads one dsu:path per line, skipping blanks and comments', () => {
    const list = parseFileList('# nightly\nd1:a/b.img\n\n  d2:c.img  \r\n', ['d1', 'd2']);
    expect(list).toEqual([
      { dsu: 'd1', path: 'a/b.img', line: 2 },
      { dsu: 'd2', path: 'c.img', line: 4 },
    ]);
  });

  it('keeps colons after the first as part of the path', () => {
    expect(parseFileList('d1:host:1/x.img', ['d1'])[0]!.path).toBe('host:1/x.img');
  });

  it.each([
    ['d1:../etc/passwd', 'PATH_OUTSIDE_DSU'],
    ['d1:a/../../b', 'PATH_OUTSIDE_DSU'],
    ['d1:/etc/passwd', 'PATH_OUTSIDE_DSU'],
    ['d1:a\\b', 'PATH_OUTSIDE_DSU'],
    ['d1:a//b', 'PATH_OUTSIDE_DSU'],
    ['d1:./a', 'PATH_OUTSIDE_DSU'],
    ['nodsu.img', 'INVALID_IMAGE_LIST'],
    ['other:a.img', 'UNKNOWN_DSU'],
  ])('refuses %s with %s naming the line', (line, code) => {
    const e = caught(() => parseFileList(`d1:ok.img\n${line}\n`, ['d1']));
    expect(e.code).toBe(code);
    expect(e.field).toBe('line 2');
    expect(e.message).toContain('line 2');
  });

  it('refuses a list naming no image', () => {
    expect(caught(() => parseFileList('# nothing\n\n', ['d1'])).code).toBe('INVALID_IMAGE_LIST');
  });
});

describe('parseImageJson', () => {
  const good = [
    { backupId: 'b1', sizeBytes: 10, source: { kind: 'disk', dsu: 'd1', path: 'x/b1.img' } },
    { backupId: 'b2', sizeBytes: 20, source: { kind: 'stream' }, priority: 90 },
  ];

  it('accepts an array or an object with images, checked by the protocol schema', () => {
    expect(parseImageJson(JSON.stringify(good), ['d1'])).toEqual(good);
    expect(parseImageJson(JSON.stringify({ images: good }), ['d1'])).toEqual(good);
  });

  it('names the field of the first bad spec', () => {
    const bad = [good[0], { ...good[1], sizeBytes: -1 }];
    const e = caught(() => parseImageJson(JSON.stringify(bad), ['d1']));
    expect(e.code).toBe('INVALID_IMAGE_LIST');
    expect(e.field).toBe('images.1.sizeBytes');
  });

  it('refuses path traversal in a disk source', () => {
    const bad = [{ ...good[0], source: { kind: 'disk', dsu: 'd1', path: '../../etc/shadow' } }];
    expect(caught(() => parseImageJson(JSON.stringify(bad), ['d1'])).field).toBe('images.0.source.path');
  });

  it('refuses repeated backup ids, unknown keys and unknown DSUs', () => {
    expect(caught(() => parseImageJson(JSON.stringify([good[0], good[0]]), ['d1'])).field).toBe(
      'images.1.backupId',
    );
    expect(caught(() => parseImageJson(JSON.stringify([{ ...good[0], colour: 'red' }]), ['d1'])).field).toBe(
      'images.0.colour',
    );
    const e = caught(() => parseImageJson(JSON.stringify(good), ['d2']));
    expect(e.code).toBe('UNKNOWN_DSU');
    expect(e.field).toBe('images.0.source.dsu');
  });

  it('refuses text that is not JSON or not a list', () => {
    expect(caught(() => parseImageJson('[{', ['d1'])).code).toBe('INVALID_IMAGE_LIST');
    expect(caught(() => parseImageJson('{"x":1}', ['d1'])).field).toBe('images');
  });
});
