import type { Reference } from './reference.js';

/** What the watcher keeps of a task or job definition: its references and tags. */
export interface CachedDefinition {
  arn: string;
  references: Reference[];
  tags: Record<string, string>;
  /**
   * When `tags` were read from AWS (epoch ms, the moment the read was sent). Absent on entries
   * written before this was kept: they count as old.
   */
  tagsReadAt?: number;
  /** The container images it names (ECS task definitions; empty for job definitions). */
  images?: string[];
}

/** What a loader found; ARNs it could not read go in `failed` and are not remembered. */
export interface Loaded {
  found: Map<string, CachedDefinition>;
  failed: string[];
}

/** Tags read again, by ARN; ARNs whose tags could not be read go in `failed` and keep their old tags. */
export interface TagsLoaded {
  found: Map<string, Record<string, string>>;
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
