export type * from './device';
export * from './errors';
