import type { TapeDevice } from '@tapedup/scsi';
import type { FragmentEndReason, ImageKind } from '../constants';
import { encodeEmptyHeader } from '../empty-header';
import { encodeFragmentEnd, type FragmentEndEntry } from '../fragment-end';
import { encodeFragmentHeader, encodeImageStart } from '../fragment-header';
import type { ImageEntry } from '../image-entry';
import { ImageFramer } from '../image-framer';
import type { ImageTrailer } from '../image-trailer';
import { encodeVolumeLabel, type VolumeLabel } from '../volume-label';

export interface TestImage {
  backupId: string;
  copy?: number;
  kind?: ImageKind;
  data: Uint8Array;
  /** Record the total size in fragment headers (default true). */
  sizeKnown?: boolean;
}

/** One image being written: its bytes, framer and where it stands across fragments and media. */
export class ImageCursor {
  readonly framer: ImageFramer;
  position = 0;
  fragmentIndex = 0;
  done = false;
  trailer: ImageTrailer | undefined;
  /** The next fragment of this image goes on another medium than the previous one. */
  nextFromOtherMedium = false;
  /** Stop the image after this many bytes with an aborted trailer. */
  abortAfter: number | undefined;

  constructor(
    readonly image: TestImage,
    blockPayloadSize: number,
  ) {
    this.framer = new ImageFramer({ tag: 0, blockPayloadSize });
  }

  entry(tag: number): ImageEntry {
    this.framer.retag(tag);
    const { bytes, blocks } = this.framer.state;
    return {
      tag,
      backupId: this.image.backupId,
      copy: this.image.copy ?? 1,
      kind: this.image.kind ?? 'disk',
      fragmentIndex: this.fragmentIndex,
      offset: bytes,
      totalSize: this.image.sizeKnown === false ? undefined : this.image.data.length,
      firstSequence: blocks,
      fromOtherMedium: this.nextFromOtherMedium,
    };
  }

  /** The next turn of this image: at most one full payload, plus the trailer when the image ends. */
  step(): Uint8Array[] {
    const size = this.framer.blockPayloadSize;
    const limit = this.abortAfter ?? this.image.data.length;
    const chunk = this.image.data.subarray(this.position, Math.min(this.position + size, limit));
    this.position += chunk.length;
    const blocks = this.framer.push(chunk);
    if (this.position >= limit) {
      const end = this.framer.finish(this.abortAfter === undefined ? 'complete' : 'aborted');
      this.done = true;
      this.trailer = end.info;
      return [...blocks, ...end.blocks, end.trailer];
    }
    return blocks;
  }
}

export interface FragmentPlan {
  images: ImageCursor[];
  /** Images that join the running fragment (an image start record) after this many data blocks. */
  joins?: Array<{ afterBlocks: number; images: ImageCursor[] }>;
  /** End the fragment after this many data blocks; images still running continue in a later fragment. */
  maxBlocks?: number;
  reason?: FragmentEndReason;
  /** The fragment ends at early warning: its running images continue on another medium. */
  endsMedium?: boolean;
  /** Write the fragment end record (default true). */
  fragmentEnd?: boolean;
  /** Write the closing filemark (default true). */
  filemark?: boolean;
}

/**
 * Writes tapedup-format tapes for tests: a label, fragments holding one or several interleaved
 * images (round robin, block by block), joins, splits, empty headers and spanning.
 */
export class TapeBuilder {
  tapeFile = 0;
  readonly blocks: Uint8Array[] = [];

  constructor(
    readonly device: TapeDevice,
    readonly label: VolumeLabel,
    readonly blockPayloadSize = 1024,
  ) {}

  cursor(image: TestImage): ImageCursor {
    return new ImageCursor(image, this.blockPayloadSize);
  }

  async writeLabel(): Promise<void> {
    await this.device.writeBlock(encodeVolumeLabel(this.label));
    await this.device.writeFilemarks(1, { immediate: false });
    this.tapeFile = 1;
  }

  /** Writes one fragment; returns its tape file number and the block number of its header. */
  async writeFragment(plan: FragmentPlan): Promise<{ tapeFile: number; blockNumber: number }> {
    const tapeFile = this.tapeFile;
    const { blockNumber } = await this.device.readPosition();
    const active = new Map<number, ImageCursor>();
    let nextTag = 0;
    const introduce = (cursors: ImageCursor[]): ImageEntry[] =>
      cursors.map((c) => {
        const entry = c.entry(nextTag);
        c.nextFromOtherMedium = false;
        active.set(nextTag++, c);
        return entry;
      });
    await this.device.writeBlock(
      encodeFragmentHeader({
        labelId: this.label.labelId,
        tapeFile,
        blockPayloadSize: this.blockPayloadSize,
        createdAt: this.label.createdAt + tapeFile,
        images: introduce(plan.images),
      }),
    );
    const accounting = new Map<number, FragmentEndEntry>();
    const all = new Map(active);
    const joins = [...(plan.joins ?? [])].sort((a, b) => a.afterBlocks - b.afterBlocks);
    let dataBlocks = 0;
    const running = (): Array<[number, ImageCursor]> => [...active].filter(([, c]) => !c.done);
    while (running().length > 0 || joins.length > 0) {
      while (joins[0] !== undefined && (joins[0].afterBlocks <= dataBlocks || running().length === 0)) {
        const join = joins.shift()!;
        const entries = introduce(join.images);
        for (const e of entries) all.set(e.tag, active.get(e.tag)!);
        await this.device.writeBlock(encodeImageStart({ images: entries }));
      }
      if (plan.maxBlocks !== undefined && dataBlocks >= plan.maxBlocks) break;
      for (const [tag, cursor] of running()) {
        for (const block of cursor.step()) {
          const isData = block[2] === 0x44 && block[3] === 0x42; // "DB"
          if (isData) {
            dataBlocks += 1;
            const acc = accounting.get(tag) ?? {
              tag,
              continues: false,
              continuesOnOtherMedium: false,
              blocks: 0,
              bytes: 0,
            };
            acc.blocks += 1;
            acc.bytes += block.length - 32;
            accounting.set(tag, acc);
          }
          await this.device.writeBlock(block);
        }
        if (plan.maxBlocks !== undefined && dataBlocks >= plan.maxBlocks) break;
      }
    }
    for (const [tag, cursor] of all) {
      const acc = accounting.get(tag) ?? {
        tag,
        continues: false,
        continuesOnOtherMedium: false,
        blocks: 0,
        bytes: 0,
      };
      accounting.set(tag, acc);
      if (cursor.done) continue;
      for (const block of cursor.framer.flush()) await this.device.writeBlock(block);
      acc.continues = true;
      acc.continuesOnOtherMedium = plan.endsMedium ?? false;
      cursor.fragmentIndex += 1;
      cursor.nextFromOtherMedium = plan.endsMedium ?? false;
    }
    if (plan.fragmentEnd ?? true) {
      await this.device.writeBlock(
        encodeFragmentEnd({
          tapeFile,
          reason: plan.reason ?? (plan.endsMedium ? 'end-of-medium' : 'image-complete'),
          images: [...accounting.values()].sort((a, b) => a.tag - b.tag),
        }),
      );
    }
    if (plan.filemark ?? true) {
      await this.device.writeFilemarks(1, { immediate: true });
      this.tapeFile += 1;
    }
    return { tapeFile, blockNumber };
  }

  /** Writes an empty header at the current position (optionally followed by a filemark). */
  async writeEmptyHeader(filemark = false): Promise<{ tapeFile: number; blockNumber: number }> {
    const { blockNumber } = await this.device.readPosition();
    await this.device.writeBlock(
      encodeEmptyHeader({
        labelId: this.label.labelId,
        tapeFile: this.tapeFile,
        createdAt: this.label.createdAt,
      }),
    );
    if (filemark) await this.device.writeFilemarks(1, { immediate: false });
    return { tapeFile: this.tapeFile, blockNumber };
  }
}

/** Deterministic pseudo-random bytes (xorshift), so fixtures are reproducible without storing them. */
export function testBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
