import type { CachedDefinition, DefinitionStore, Loaded, TagsLoaded } from '../domain/index.js';

/**
 * How old a job definition's tags may be when they decide a restart: one sweep (6 hours by
 * default). A revision's references never change, but its tags do (TagResource, UntagResource):
 * an opt-out (`rotation-watcher:action=ignore` or `notify`) added after the definition was first
 * read must be seen by the next sweep at the latest, not when the process or the index forgets
 * the definition (a warm Lambda container lives for hours, the index keeps an entry 30 days).
 */
export const TAGS_MAX_AGE_MS = 6 * 3_600_000;

/**
 * Task and job definition revisions never change, so each ARN is described once for the life of
 * the process (a Lambda container or a CLI run), and, with a store, once for as long as the
 * store keeps it. Concurrent asks for one ARN share one load. Tags are the exception: they can
 * change, so `withFreshTags` reads again those older than TAGS_MAX_AGE_MS before they are used.
 */
export class DefinitionCache {
  private readonly entries = new Map<string, Promise<CachedDefinition | null>>();
  /** Tag reads under way, by ARN, so that concurrent scans share one. */
  private readonly rereading = new Map<string, Promise<CachedDefinition | null>>();
  private readonly now: () => number;
  hits = 0;
  misses = 0;
  /** Of the misses, how many the store answered (no describe needed). */
  stored = 0;
  /** Reads or writes of the store that failed (the definitions were described instead). */
  storeErrors = 0;
  /** Definitions whose tags were read again because they were older than TAGS_MAX_AGE_MS. */
  tagsReread = 0;

  /** `now`: the clock that stamps and ages tags (epoch ms; the system clock by default). */
  constructor(
    private readonly store?: DefinitionStore,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The definitions of `arns`, loading the ones not yet cached with `load` (which gets only those). */
  async getMany(
    arns: string[],
    load: (missing: string[]) => Promise<Loaded>,
  ): Promise<Map<string, CachedDefinition>> {
    const unique = [...new Set(arns)];
    const missing = unique.filter((arn) => !this.entries.has(arn));
    this.hits += unique.length - missing.length;
    this.misses += missing.length;
    if (missing.length > 0) {
      const loading = this.loadMissing(missing, load).catch(
        (): Loaded => ({ found: new Map(), failed: missing }),
      );
      for (const arn of missing)
        this.entries.set(
          arn,
          loading.then((loaded) => loaded.found.get(arn) ?? null),
        );
      const { failed } = await loading;
      for (const arn of failed) this.entries.delete(arn);
    }
    const out = new Map<string, CachedDefinition>();
    for (const arn of unique) {
      const definition = await this.entries.get(arn);
      if (definition) out.set(arn, definition);
    }
    return out;
  }

  /** Whether `definition`'s tags were read less than TAGS_MAX_AGE_MS ago. */
  tagsFresh(definition: CachedDefinition): boolean {
    if (definition.tagsReadAt === undefined) return false;
    const age = this.now() - definition.tagsReadAt;
    // A stamp from the future (another clock) is not trusted either.
    return age >= 0 && age < TAGS_MAX_AGE_MS;
  }

  /**
   * `definitions` with tags at most TAGS_MAX_AGE_MS old: the older ones are read again with
   * `reread` (which gets only those), and the cache and the store remember what it found. A
   * definition whose tags could not be read again keeps its old tags and old `tagsReadAt`, so
   * `tagsFresh` says so; `reread` records why (a gap).
   */
  async withFreshTags(
    definitions: Map<string, CachedDefinition>,
    reread: (old: string[]) => Promise<TagsLoaded>,
  ): Promise<Map<string, CachedDefinition>> {
    const old = [...definitions.values()].filter((definition) => !this.tagsFresh(definition));
    if (old.length === 0) return definitions;
    const starting = old.filter((definition) => !this.rereading.has(definition.arn));
    if (starting.length > 0) {
      const reading = this.reread(starting, reread);
      for (const { arn } of starting) {
        const one = reading.then((found) => found.get(arn) ?? null);
        this.rereading.set(arn, one);
        void one.finally(() => {
          if (this.rereading.get(arn) === one) this.rereading.delete(arn);
        });
      }
    }
    // Taken before the first await: a finished read leaves `rereading`.
    const pending = old.map(({ arn }) => this.rereading.get(arn));
    const out = new Map(definitions);
    for (const updated of await Promise.all(pending)) if (updated) out.set(updated.arn, updated);
    return out;
  }

  /** Reads the tags of `old` again; remembers (in memory and in the store) the ones it got. */
  private async reread(
    old: CachedDefinition[],
    reread: (old: string[]) => Promise<TagsLoaded>,
  ): Promise<Map<string, CachedDefinition>> {
    const at = this.now();
    const arns = old.map((definition) => definition.arn);
    const { found } = await reread(arns).catch(
      (): TagsLoaded => ({ found: new Map(), failed: arns }),
    );
    const updated = new Map<string, CachedDefinition>();
    for (const definition of old) {
      const tags = found.get(definition.arn);
      if (!tags) continue;
      const fresh = { ...definition, tags, tagsReadAt: at };
      updated.set(definition.arn, fresh);
      this.entries.set(definition.arn, Promise.resolve(fresh));
    }
    this.tagsReread += updated.size;
    if (this.store && updated.size > 0)
      await this.store.putMany([...updated.values()]).catch(() => {
        this.storeErrors += 1;
      });
    return updated;
  }

  /** The store's entries first; what it lacks is loaded, then written back to it. */
  private async loadMissing(
    missing: string[],
    load: (missing: string[]) => Promise<Loaded>,
  ): Promise<Loaded> {
    const stored = this.store
      ? await this.store.getMany(missing).catch(() => {
          this.storeErrors += 1;
          return new Map<string, CachedDefinition>();
        })
      : new Map<string, CachedDefinition>();
    this.stored += stored.size;
    const rest = missing.filter((arn) => !stored.has(arn));
    const at = this.now();
    const loaded = rest.length > 0 ? await load(rest) : { found: new Map(), failed: [] };
    // What was just described carries the tags of that moment.
    const described = new Map(
      [...loaded.found].map(([arn, definition]) => [
        arn,
        { ...definition, tagsReadAt: definition.tagsReadAt ?? at },
      ]),
    );
    if (this.store && described.size > 0)
      await this.store.putMany([...described.values()]).catch(() => {
        this.storeErrors += 1;
      });
    return { found: new Map([...stored, ...described]), failed: loaded.failed };
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
    this.hits = 0;
    this.misses = 0;
  }
}
