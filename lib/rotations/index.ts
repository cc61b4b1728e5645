// Rotation records: one per change of a value that moves what consumers read, followed until no
// running consumer may hold the value from before it. The pure rule (record), its storage (store),
// what a look saw (observations, reread), what the watcher already did (restarted), the signal,
// and the follow-up chain that ties them together (follow).

export { NotARecordError, RecordContentionError, RotationError } from './errors.js';
export {
  FOLLOW_UP_DELAY_S,
  followUp,
  RESEND_AFTER_MS,
  type Recorded,
  recordRun,
} from './follow.js';
export { changeOf, movesWhatIsRead, observationsOf } from './observations.js';
export {
  CLEARED,
  type ConsumerState,
  isRecordKey,
  newRecord,
  type Observation,
  observe,
  type RecordedConsumer,
  type RotationRecord,
  type RotationStatus,
  recordPk,
  recordSk,
  type Signal,
} from './record.js';
export { withRestarts } from './restarted.js';
export { followRun, type RunDeps } from './run.js';
export { RECORD_TTL_DAYS, RotationStore, TRACKED_PK } from './store.js';
export type { FollowDeps, FollowUpMessage } from './types.js';
