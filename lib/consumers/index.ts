// One strategy per consumer kind (ECS service, standalone ECS task, Batch job): how each is
// found among the scanned tasks and jobs, judged, looked at again and restarted.
// Discovery, the follow-up's re-read and the actions loop over them.
import type { ConsumerKind, Gap } from '../domain/index.js';
import { batchJob } from './batch-job.js';
import { scanBatch } from './batch-scan.js';
import { scanEcs } from './ecs-scan.js';
import { ecsService } from './ecs-service.js';
import { ecsTask } from './ecs-task.js';
import type { ConsumerStrategy, ScanDeps, Scanned } from './types.js';

/** Every kind's strategy, in the order their consumers are looked at again. */
export const CONSUMER_STRATEGIES: Record<ConsumerKind, ConsumerStrategy> = {
  'ecs-service': ecsService,
  'ecs-task': ecsTask,
  'batch-job': batchJob,
};

/** The strategy of one kind of consumer. */
export function strategyFor(kind: ConsumerKind): ConsumerStrategy {
  return CONSUMER_STRATEGIES[kind];
}

/** Whether `kind` names a kind of consumer (a recorded consumer's kind is a string). */
export function isConsumerKind(kind: string): kind is ConsumerKind {
  return Object.hasOwn(CONSUMER_STRATEGIES, kind);
}

/** Every running task and live job of one region, each with its definition's references. */
export async function scanRegion(region: string, deps: ScanDeps, gaps: Gap[]): Promise<Scanned> {
  const [tasks, jobs] = await Promise.all([
    scanEcs(region, deps, gaps),
    scanBatch(region, deps, gaps),
  ]);
  return { tasks, jobs };
}

/** Several regions' scans as one. */
export function joinScans(scans: Scanned[]): Scanned {
  return { tasks: scans.flatMap((s) => s.tasks), jobs: scans.flatMap((s) => s.jobs) };
}

/** The references of everything scanned, tasks' first. */
export function scannedReferences({ tasks, jobs }: Scanned) {
  return [...tasks, ...jobs].flatMap((item) => item.references);
}

export { REPLACES_TAG } from './batch-resubmit.js';
export { LIVE_JOB_STATUSES, type ScannedJob, scanBatch } from './batch-scan.js';
export { serviceDetails } from './ecs-reads.js';
export { type ScannedTask, scanEcs } from './ecs-scan.js';
export {
  ConsumerError,
  ConsumerGoneError,
  MayHaveChanged,
  NotRestartableError,
} from './errors.js';
export type { ChangeOnce, Restarted } from './restart.js';
export { assessConsumer, assessRun, type Verdict } from './staleness.js';
export type {
  ConsumerStrategy,
  FindContext,
  KnownConsumer,
  Look,
  Reread,
  ScanDeps,
  Scanned,
  Sighting,
} from './types.js';
