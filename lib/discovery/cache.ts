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
 * Task and job definition revisions never change, so each ARN is described once for the life of
 * the process (a Lambda container or a CLI run). Concurrent asks for one ARN share one load.
 */
export class DefinitionCache {
  private readonly entries = new Map<string, Promise<CachedDefinition | null>>();
  hits = 0;
  misses = 0;

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
      const loading = load(missing).catch((): Loaded => ({ found: new Map(), failed: missing }));
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

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
    this.hits = 0;
    this.misses = 0;
  }
}
