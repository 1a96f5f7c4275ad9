export { Coordinator, type CoordinatorDeps, type CoordinatorSettings } from './coordinator';
export type { Output } from './outputs';
export { checkSubmit, resolveUnderRoot, type SourceInspector } from './submit-check';
export { parseWireCopyId, wireCopyId } from './wire-ids';
