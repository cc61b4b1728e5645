// Serves a scripted account over HTTP for the real SDK clients, and records what they asked:
// every request, and every call that changes the account stamped with the account's clock.
import type { AwsRequest } from '../aws-wire.js';
import { startFakeAws } from '../fake-aws.js';
import type { ScriptedAccount } from './model.js';
import { MUTATING_APIS, scriptedRoute } from './route.js';

export interface ScriptedServer {
  endpoint: string;
  /** Each UpdateService, SubmitJob and TerminateJob attempted, rejected ones included. */
  mutations: Array<{ api: string; input: Record<string, unknown>; at: number }>;
  requests: Array<{ api: string; input: Record<string, unknown> }>;
  stop(): Promise<void>;
}

export async function serveScripted(
  account: ScriptedAccount,
  options: { latencyMs?: number } = {},
): Promise<ScriptedServer> {
  const route = scriptedRoute(account);
  const mutations: ScriptedServer['mutations'] = [];
  const requests: ScriptedServer['requests'] = [];
  // Recording in the route sees every request: with throttling off, none stops before it.
  const recording = (request: AwsRequest) => {
    const api = `${request.service}:${request.operation}`;
    // A copy: the model may later hold the same objects (SubmitJob's tags) and change them.
    const input = structuredClone(request.input);
    requests.push({ api, input });
    if (MUTATING_APIS.has(api)) mutations.push({ api, input, at: account.now });
    return route(request);
  };
  const server = await startFakeAws(recording, { latencyMs: options.latencyMs ?? 0, rate: 0 });
  return { endpoint: server.endpoint, mutations, requests, stop: () => server.stop() };
}
