export { DefinitionCache } from '../consumers/definitions.js';
export {
  assessConsumer,
  assessRun,
  LIVE_JOB_STATUSES,
  REPLACES_TAG,
  serviceDetails,
  type Verdict,
} from '../consumers/index.js';
export type { Progress } from '../domain/index.js';
export { type DiscoverOptions, discover, type Query } from './discover.js';
export { latestChanges } from './metadata.js';
