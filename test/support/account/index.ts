// The scripted account: a model of an AWS account as plain data, the route answering the SDK
// from it, a server for it. See model.ts for what a test can script,
// synthetic.ts for the bench's large accounts built on it.
export * from './model.js';
export { parameterReaders, type Reader } from './readers.js';
export { advanceAccount, MUTATING_APIS, scriptedRoute } from './route.js';
export {
  BUCKETS_PATH,
  type BucketUse,
  type ScriptedServer,
  type ServeOptions,
  serveScripted,
} from './server.js';
