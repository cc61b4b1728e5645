export { DEPLOYMENT_EVENT_NAMES, JOB_STATUSES } from './deployments.js';
export { EventError, MalformedEventError } from './errors.js';
export { changeKey, dedupeChanges, valueKey } from './identity.js';
export { type EventResult, HANDLED_EVENTS, parseEvent, parsePayload } from './parse.js';
export type { RecordResult } from './types.js';
