// The scripted account: a model of an AWS account, the route answering the SDK from it, and a
// server for it. See model.ts for what a test can script.
export * from './model.js';
export { MUTATING_APIS, scriptedRoute } from './route.js';
export { type ScriptedServer, serveScripted } from './serve.js';
