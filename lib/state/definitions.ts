import type { AwsClients } from '../aws/index.js';
import type { CachedDefinition, DefinitionStore } from '../domain/index.js';
import { batchGet, batchPut } from './batch.js';
import { parseBody } from './body.js';

/**
 * Revisions never change, but deregistered ones should age out: an entry lives this long after
 * it was written, and a revision still in use is described again when it has gone. Tags can
 * change: an entry's `tagsReadAt` says when they were read, and tags older than TAGS_MAX_AGE_MS
 * are read again (and the entry written again) before they decide anything.
 */
export const INDEX_TTL_DAYS = 30;

/**
 * The reference index in the state table: one item per revision ARN (`pk = def#ARN`, `sk = refs`)
 * holding its references (names and ARNs, never a value), tags, when the tags were read
 * (`tagsReadAt`, epoch ms) and images as JSON.
 */
export function tableDefinitions(options: {
  table: string;
  region: string;
  clients: AwsClients;
  now?: () => number;
}): DefinitionStore {
  const { table, region, clients } = options;
  const now = options.now ?? Date.now;
  const ref = { table, region, clients };
  const key = (arn: string) => ({ pk: { S: `def#${arn}` }, sk: { S: 'refs' } });
  return {
    async getMany(arns) {
      const found = new Map<string, CachedDefinition>();
      for (const item of await batchGet(ref, [...new Set(arns)].map(key), 'pk, body')) {
        const definition = parse(item.body?.S);
        if (definition) found.set(definition.arn, definition);
      }
      return found;
    },
    async putMany(definitions) {
      const expiresAt = String(Math.ceil(now() / 1000) + INDEX_TTL_DAYS * 86_400);
      await batchPut(
        ref,
        definitions.map((definition) => ({
          ...key(definition.arn),
          body: { S: JSON.stringify(definition) },
          expiresAt: { N: expiresAt },
        })),
      );
    },
  };
}

/**
 * An entry as stored, or nothing when it is not one this version wrote. An entry without a
 * usable `tagsReadAt` (written before it was kept) has tags of unknown age: they count as old.
 */
function parse(body: string | undefined): CachedDefinition | null {
  const entry = parseBody<CachedDefinition>(
    body,
    (value) => typeof value.arn === 'string' && Array.isArray(value.references),
  );
  if (!entry) return null;
  const { tagsReadAt, ...rest } = entry;
  return typeof tagsReadAt === 'number' && Number.isFinite(tagsReadAt)
    ? { ...rest, tagsReadAt }
    : rest;
}
