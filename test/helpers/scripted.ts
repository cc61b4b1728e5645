import { afterAll, beforeAll } from 'vitest';
import {
  emptyAccount,
  type ScriptedAccount,
  type ScriptedServer,
  serveScripted,
} from '../support/account/index.js';

export interface ScriptedHandle {
  /** The account the server answers from; tests replace its contents (`Object.assign`). */
  account: ScriptedAccount;
  /** Set once the file's tests start. */
  server: ScriptedServer;
}

/**
 * Serves one scripted account for this test file over loopback and points the SDK at it (any
 * credentials); stops it after the file.
 */
export function useScriptedAccount(): ScriptedHandle {
  const handle = { account: emptyAccount() } as ScriptedHandle;
  beforeAll(async () => {
    handle.server = await serveScripted(handle.account);
    process.env.AWS_ENDPOINT_URL = handle.server.endpoint;
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
  });
  afterAll(async () => {
    delete process.env.AWS_ENDPOINT_URL;
    await handle.server?.stop();
  });
  return handle;
}
