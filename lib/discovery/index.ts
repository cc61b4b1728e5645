export {
  assessConsumer,
  assessRun,
  LIVE_JOB_STATUSES,
  REPLACES_TAG,
  serviceDetails,
  type Verdict,
} from '../consumers/index.js';
export { type CachedDefinition, DefinitionCache, type DefinitionStore } from './cache.js';
export { type DiscoverOptions, discover, type Query } from './discover.js';
export { latestChanges } from './metadata.js';
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
