import type { Reference } from '../refs/index.js';

/** What the watcher keeps of a task or job definition: its references and tags. */
export interface CachedDefinition {
  arn: string;
  references: Reference[];
  tags: Record<string, string>;
  /** The container images it names (ECS task definitions; empty for job definitions). */
  images?: string[];
}

/** What a loader found; ARNs it could not read go in `failed` and are not remembered. */
export interface Loaded {
  found: Map<string, CachedDefinition>;
  failed: string[];
}

/**
 * Where definitions are remembered beyond the process (the state table's reference index). A
 * store that cannot be read or written only costs describes: discovery never fails for it.
 */
export interface DefinitionStore {
  getMany(arns: string[]): Promise<Map<string, CachedDefinition>>;
  putMany(definitions: CachedDefinition[]): Promise<void>;
}

/**
 * Task and job definition revisions never change, so each ARN is described once for the life of
 * the process (a Lambda container or a CLI run), and, with a store, once for as long as the
 * store keeps it. Concurrent asks for one ARN share one load.
 */
export class DefinitionCache {
  private readonly entries = new Map<string, Promise<CachedDefinition | null>>();
  hits = 0;
  misses = 0;
  /** Of the misses, how many the store answered (no describe needed). */
  stored = 0;
  /** Reads or writes of the store that failed (the definitions were described instead). */
  storeErrors = 0;

  constructor(private readonly store?: DefinitionStore) {}

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
    const loaded = rest.length > 0 ? await load(rest) : { found: new Map(), failed: [] };
    if (this.store && loaded.found.size > 0)
      await this.store.putMany([...loaded.found.values()]).catch(() => {
        this.storeErrors += 1;
      });
    return { found: new Map([...stored, ...loaded.found]), failed: loaded.failed };
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
