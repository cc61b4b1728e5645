import { afterAll, beforeAll } from 'vitest';
import { type Moto, startMoto } from '../../scripts/moto.js';
import { Seeder, useEndpoint } from '../../scripts/seed.js';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.js';

export interface FaultyMoto {
  moto: Moto;
  proxy: FaultProxy;
  seed: Seeder;
  /** Calls that reached moto (not faulted) for one API, e.g. `ecs:UpdateService`. */
  forwarded(api: string): Array<{ input: Record<string, unknown> }>;
}

/** moto behind a fault-injecting proxy; the SDK talks to the proxy. Faults start switched off. */
export function useFaultyMoto(seed = 7): FaultyMoto {
  const handle = {} as FaultyMoto;
  beforeAll(async () => {
    handle.moto = await startMoto();
    handle.proxy = await startFaultProxy(handle.moto.endpoint, { seed });
    useEndpoint(handle.proxy.endpoint);
    handle.seed = new Seeder();
    handle.forwarded = (api) =>
      handle.proxy.log.filter((entry) => entry.api === api && entry.fault === null);
  }, 60_000);
  afterAll(async () => {
    handle.seed?.destroy();
    await handle.proxy?.stop();
    await handle.moto?.stop();
  });
  return handle;
}
