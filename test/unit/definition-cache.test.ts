// DefinitionCache keeps references forever and tags for at most TAGS_MAX_AGE_MS: what it stamps,
// what counts as old, what a re-read changes (memory and store) and what a failed one leaves.

import { describe, expect, it } from 'vitest';
import { DefinitionCache, TAGS_MAX_AGE_MS } from '../../lib/consumers/definitions.js';
import type { CachedDefinition, DefinitionStore } from '../../lib/domain/index.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-20T12:00:00Z');
const ARN = 'arn:aws:batch:us-east-1:123456789012:job-definition/etl:1';
const OTHER = 'arn:aws:batch:us-east-1:123456789012:job-definition/report:3';

/** A store that keeps what it is given as JSON, as the index does. */
function memoryStore(): DefinitionStore & { items: Map<string, string>; puts: number } {
  const items = new Map<string, string>();
  return {
    items,
    puts: 0,
    async getMany(arns) {
      const found = new Map<string, CachedDefinition>();
      for (const arn of arns) {
        const body = items.get(arn);
        if (body) found.set(arn, JSON.parse(body));
      }
      return found;
    },
    async putMany(definitions) {
      this.puts += 1;
      for (const definition of definitions) items.set(definition.arn, JSON.stringify(definition));
    },
  };
}

const described = (arn: string, tags: Record<string, string> = {}): CachedDefinition => ({
  arn,
  references: [],
  tags,
});

function setup(store?: DefinitionStore) {
  const clock = { now: T0 };
  const cache = new DefinitionCache(store, { now: () => clock.now });
  const loads: string[][] = [];
  const rereads: string[][] = [];
  let tags: Record<string, string> = {};
  let rereadFails = false;
  const load = async (missing: string[]) => {
    loads.push(missing);
    return { found: new Map(missing.map((arn) => [arn, described(arn, tags)])), failed: [] };
  };
  const reread = async (old: string[]) => {
    rereads.push(old);
    if (rereadFails) throw new Error('AccessDenied');
    return { found: new Map(old.map((arn) => [arn, { ...tags }])), failed: [] };
  };
  const get = async (arns = [ARN]) => cache.withFreshTags(await cache.getMany(arns, load), reread);
  return {
    clock,
    cache,
    loads,
    rereads,
    get,
    setTags: (next: Record<string, string>) => {
      tags = next;
    },
    failRereads: (fail: boolean) => {
      rereadFails = fail;
    },
  };
}

describe('DefinitionCache tags', () => {
  it('stamps what it describes with the time the describe was sent', async () => {
    const { get, loads, rereads } = setup();
    const found = await get();
    expect(found.get(ARN)?.tagsReadAt).toBe(T0);
    expect(loads).toEqual([[ARN]]);
    expect(rereads).toEqual([]);
  });

  it('reads nothing again while the tags are younger than TAGS_MAX_AGE_MS', async () => {
    const { get, clock, loads, rereads, setTags } = setup();
    await get();
    setTags({ 'rotation-watcher:action': 'ignore' });
    clock.now = T0 + TAGS_MAX_AGE_MS - 1;
    const found = await get();
    expect(found.get(ARN)?.tags).toEqual({});
    expect(loads).toHaveLength(1);
    expect(rereads).toEqual([]);
  });

  it('reads the tags again, and only them, once they are older; references stay', async () => {
    const { get, cache, clock, loads, rereads, setTags } = setup();
    await get([ARN, OTHER]);
    setTags({ 'rotation-watcher:action': 'ignore' });
    clock.now = T0 + 7 * HOUR;
    const found = await get([ARN, OTHER]);
    expect(loads).toHaveLength(1);
    // Both in one re-read: the caller batches them (100 a call).
    expect(rereads).toEqual([[ARN, OTHER]]);
    expect(found.get(ARN)).toMatchObject({
      tags: { 'rotation-watcher:action': 'ignore' },
      tagsReadAt: T0 + 7 * HOUR,
      references: [],
    });
    expect(cache.tagsReread).toBe(2);
    // Remembered: the next scan in this process reads nothing.
    clock.now = T0 + 8 * HOUR;
    expect((await get([ARN, OTHER])).get(ARN)?.tags).toEqual({
      'rotation-watcher:action': 'ignore',
    });
    expect(rereads).toHaveLength(1);
  });

  it('keeps the old tags, marked old, when the re-read fails, and tries again next time', async () => {
    const { get, cache, clock, rereads, setTags, failRereads } = setup();
    await get();
    setTags({ 'rotation-watcher:action': 'notify' });
    clock.now = T0 + 7 * HOUR;
    failRereads(true);
    const failed = (await get()).get(ARN) as CachedDefinition;
    expect(failed).toMatchObject({ tags: {}, tagsReadAt: T0 });
    expect(cache.tagsFresh(failed)).toBe(false);
    failRereads(false);
    const after = (await get()).get(ARN) as CachedDefinition;
    expect(after.tags).toEqual({ 'rotation-watcher:action': 'notify' });
    expect(cache.tagsFresh(after)).toBe(true);
    expect(rereads).toHaveLength(2);
  });

  it('shares one re-read between concurrent scans', async () => {
    const { get, clock, rereads } = setup();
    await get();
    clock.now = T0 + 7 * HOUR;
    await Promise.all([get(), get(), get()]);
    expect(rereads).toEqual([[ARN]]);
  });

  it('does not trust a stamp from the future, nor an entry without one', () => {
    const { cache } = setup();
    expect(cache.tagsFresh({ ...described(ARN), tagsReadAt: T0 + HOUR })).toBe(false);
    expect(cache.tagsFresh(described(ARN))).toBe(false);
    expect(cache.tagsFresh({ ...described(ARN), tagsReadAt: T0 })).toBe(true);
  });

  it('writes re-read tags to the store, so a new process needs no re-read', async () => {
    const store = memoryStore();
    const first = setup(store);
    await first.get();
    expect(JSON.parse(store.items.get(ARN) as string).tagsReadAt).toBe(T0);
    first.setTags({ 'rotation-watcher:action': 'ignore' });
    first.clock.now = T0 + 7 * HOUR;
    await first.get();
    expect(JSON.parse(store.items.get(ARN) as string)).toMatchObject({
      tags: { 'rotation-watcher:action': 'ignore' },
      tagsReadAt: T0 + 7 * HOUR,
    });
    // A cold process an hour later: the index answers, tags and all, with no describe at all.
    const cold = setup(store);
    cold.clock.now = T0 + 8 * HOUR;
    const found = await cold.get();
    expect(found.get(ARN)?.tags).toEqual({ 'rotation-watcher:action': 'ignore' });
    expect(cold.loads).toEqual([]);
    expect(cold.rereads).toEqual([]);
  });

  it('reads again the tags of an index entry written before tagsReadAt was kept', async () => {
    const store = memoryStore();
    store.items.set(ARN, JSON.stringify(described(ARN)));
    const cold = setup(store);
    cold.setTags({ 'rotation-watcher:action': 'ignore' });
    const found = await cold.get();
    expect(cold.loads).toEqual([]);
    expect(cold.rereads).toEqual([[ARN]]);
    expect(found.get(ARN)?.tags).toEqual({ 'rotation-watcher:action': 'ignore' });
  });
});
