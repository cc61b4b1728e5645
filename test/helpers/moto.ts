import { afterAll, beforeAll } from 'vitest';
import { type Moto, startMoto } from '../../scripts/moto.js';
import { Seeder, useEndpoint } from '../../scripts/seed.js';

export interface MotoHandle {
  moto: Moto;
  seed: Seeder;
  /** Empties moto and forgets what the seeder cached, for the next suite. */
  reset(): Promise<void>;
}

/**
 * Starts a moto server for this test file (each file gets its own, so files can run in
 * parallel) and points the SDK at it; stops it after the file, whether its tests passed or not.
 */
export function useMoto(): MotoHandle {
  const handle = {} as MotoHandle;
  beforeAll(async () => {
    handle.moto = await startMoto();
    useEndpoint(handle.moto.endpoint);
    handle.seed = new Seeder();
    handle.reset = async () => {
      await handle.moto.reset();
      handle.seed.forget();
    };
  }, 60_000);
  afterAll(async () => {
    handle.seed?.destroy();
    await handle.moto?.stop();
  });
  return handle;
}
