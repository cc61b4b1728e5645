export { LIVE_JOB_STATUSES } from './batch.js';
export { type CachedDefinition, DefinitionCache, type DefinitionStore } from './cache.js';
export {
  type DiscoverOptions,
  discover,
  type Query,
  REPLACES_TAG,
  serviceDetails,
} from './discover.js';
export { latestChanges } from './metadata.js';
export { assessConsumer, assessRun, type Verdict } from './staleness.js';
export type {
  Consumer,
  ConsumerKind,
  ConsumerReference,
  DeploymentState,
  DiscoveryResult,
  Gap,
  JobDetails,
  Progress,
  Run,
  ServiceDetails,
  ServiceStatus,
  TagLevel,
  VerdictCause,
} from './types.js';
