export {
  ApiBudget,
  bucketOf,
  budgetedBuckets,
  DEFAULT_API_SHARE,
  type ThrottleBucket,
  TimeLimitError,
  TokenBucket,
} from './budget.js';
export { type ApiCount, CallCounter, isAmbiguous, isThrottling } from './calls.js';
export { AwsClients, type ClientOptions, type ServiceName } from './clients.js';
export { allPages, chunks, describeError } from './pages.js';
