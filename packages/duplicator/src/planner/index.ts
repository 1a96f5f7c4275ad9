export { compareCopies } from './order';
export { type PlanInput, planAssignments } from './plan';
export { DEFAULT_PLANNER_SETTINGS, type PlannerSettings, resolvePlannerSettings } from './settings';
export type { Assignment, Plan, QueuedCopy, WaitReason, WriterInfo } from './types';
