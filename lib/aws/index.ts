export {
  ApiBudget,
  bucketOf,
  budgetedBuckets,
  DEFAULT_API_SHARE,
  STACK_BUDGETS,
  type ThrottleBucket,
  TimeLimitError,
  TokenBucket,
} from './budget.js';
export { type ApiCount, CallCounter } from './calls.js';
export { AwsClients, type ClientOptions, type ServiceName } from './clients.js';
export {
  type AwsErrorClass,
  type AwsErrorKind,
  classifyAwsError,
  isAmbiguous,
  isThrottling,
  type Missing,
} from './errors.js';
export { allPages, chunks, describeError } from './pages.js';
