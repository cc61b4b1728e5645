export { type ApiCount, CallCounter, isAmbiguous, isThrottling } from './calls.js';
export { AwsClients, type ClientOptions, type ServiceName } from './clients.js';
export { allPages, chunks, describeError } from './pages.js';
