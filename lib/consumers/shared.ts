// Helpers every kind's strategy uses: narrowing scanned items to the changes, a verdict's fields
// on a consumer, what a look saw.
import type { Change, ConsumerReference, Gap, Reference, Run } from '../domain/index.js';
import { refersTo } from '../refs/index.js';
import type { Verdict } from './staleness.js';
import type { KnownConsumer, Sighting } from './types.js';

/** The item with only the references some change names, or nothing if none does. */
export function narrow<T extends { references: ConsumerReference[] }>(
  item: T,
  changes: Change[],
): T[] {
  const references = item.references.filter((ref) =>
    changes.some((change) => refersTo(ref.target, change)),
  );
  return references.length > 0 ? [{ ...item, references }] : [];
}

/** A verdict as the fields of a consumer. */
export function verdictFields(verdict: Verdict) {
  return {
    stale: verdict.stale,
    cause: verdict.cause,
    staleReason: verdict.reason,
    staleRuns: verdict.staleRuns,
    stuckRollout: verdict.stuckRollout,
    changes: verdict.changes,
  };
}

/** The references of all runs, each once (a service's tasks usually share one definition). */
export function mergeReferences(runs: Run[]): ConsumerReference[] {
  const seen = new Map<string, ConsumerReference>();
  for (const ref of runs.flatMap((run) => run.references)) {
    seen.set(
      `${ref.container}|${ref.field}|${ref.name}|${ref.valueFrom}|${ref.target.region}`,
      ref,
    );
  }
  return [...seen.values()];
}

/** Nothing of it runs any more. */
export const GONE: Sighting = { running: false, staleRuns: 0, replacing: false };

/** What a look saw of a consumer with these runs, judged by the rule. */
export function sightingOf(runs: Run[], verdict: Verdict): Sighting {
  return {
    running: runs.length > 0,
    staleRuns: verdict.staleRuns,
    replacing: verdict.cause === 'replaced',
  };
}

/** Known consumers by their region and cluster (or queue): the unit one read covers. */
export function byPlace<K extends KnownConsumer>(known: K[]): Map<string, K[]> {
  return groupBy(known, (consumer) => `${consumer.region}|${consumer.parent}`);
}

/**
 * Each known consumer as one describe call per place (region and cluster) shows it: the item AWS
 * described, or `undefined` when AWS no longer knows it. Consumers in a call that failed are left
 * out: unknown, not gone (the call's gap says so).
 */
export async function describedByPlace<K extends KnownConsumer, T>(
  known: K[],
  gaps: Gap[],
  describe: (region: string, parent: string, arns: string[]) => Promise<T[]>,
  arnOf: (item: T) => string | undefined,
): Promise<Array<{ consumer: K; region: string; parent: string; item: T | undefined }>> {
  const out: Array<{ consumer: K; region: string; parent: string; item: T | undefined }> = [];
  for (const [where, members] of byPlace(known)) {
    const [region = '', parent = ''] = where.split('|');
    const before = gaps.length;
    const items = await describe(
      region,
      parent,
      members.map((consumer) => consumer.arn),
    );
    for (const consumer of members) {
      const item = items.find((candidate) => arnOf(candidate) === consumer.arn);
      if (!item && gaps.length > before) continue;
      out.push({ consumer, region, parent, item });
    }
  }
  return out;
}

export function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) out.set(key(item), [...(out.get(key(item)) ?? []), item]);
  return out;
}

/** The references that name something; an invalid one cannot match any change. */
export function usable(references: Reference[]): ConsumerReference[] {
  return references.flatMap(({ container, field, name, valueFrom, target }) =>
    target ? [{ container, field, name, valueFrom, target }] : [],
  );
}

/** `[{key, value}]` (ECS) or `{key: value}` (Batch) as one record. */
export function tagRecord(
  tags: Array<{ key?: string; value?: string }> | Record<string, string> | undefined,
): Record<string, string> {
  if (!tags) return {};
  if (Array.isArray(tags)) {
    return Object.fromEntries(
      tags
        .filter((tag) => tag.key !== undefined)
        .map((tag) => [tag.key as string, tag.value ?? '']),
    );
  }
  return { ...tags };
}
