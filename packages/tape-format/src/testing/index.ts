export type { MemoryObject, MemoryTapeOptions } from './memory-tape';
export { MemoryTape } from './memory-tape';
export { CollectingSink } from './sinks';
export type { FragmentPlan, TestImage } from './tape-builder';
export { ImageCursor, TapeBuilder, testBytes } from './tape-builder';
