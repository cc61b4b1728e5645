// A job definition's tags decide a resubmit, and they can change after the definition was first
// read (TagResource), while its references cannot. Against the scripted account, in process: a
// warm process (one DefinitionCache) and a warm index (one store) must not resubmit a job whose
// definition was tagged ignore or notify after it was cached, once TAGS_MAX_AGE_MS has passed;
// and tags younger than that cost no call.

import { beforeEach, describe, expect, it } from 'vitest';
import { AwsClients } from '../../lib/aws/index.js';
import { scanBatch } from '../../lib/consumers/batch-scan.js';
import { DefinitionCache, TAGS_MAX_AGE_MS } from '../../lib/consumers/definitions.js';
import { discover } from '../../lib/discovery/index.js';
import type { CachedDefinition, DefinitionStore, Gap } from '../../lib/domain/index.js';
import { ACTION_TAG, decide, plan } from '../../lib/plan.js';
import { type AwsRequest, awsError, RecordedAws } from '../helpers/recorded-aws.js';
import { emptyAccount, scriptedRoute } from '../support/account/index.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const CHANGE = Date.parse('2026-11-20T12:00:00Z');
const T0 = CHANGE + 30 * MINUTE;
const REGION = 'us-east-1';
const PARAM = '/etl/db/password';
const DEFINITION = 'arn:aws:batch:us-east-1:123456789012:job-definition/etl:1';
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' };
/** WATCHER_DEFAULT_ACTION=resubmit: untagged jobs are resubmitted. */
const POLICY = { defaultAction: 'resubmit' as const, maxActions: 25 };

const account = emptyAccount(T0);
const clock = { now: T0 };
let fault: ((request: AwsRequest) => ReturnType<typeof awsError> | undefined) | undefined;

beforeEach(() => {
  Object.assign(account, emptyAccount(T0));
  clock.now = T0;
  fault = undefined;
  account.parameters = [{ name: PARAM, version: 2, lastModified: CHANGE, type: 'SecureString' }];
  account.jobQueues = [{ name: 'nightly' }];
  account.jobDefinitions = [
    { name: 'etl', revision: 1, secrets: [{ name: 'DB', valueFrom: PARAM }] },
  ];
  // Created before the change and still running: it holds the old value.
  account.jobs = [
    {
      id: 'job-1',
      name: 'etl-run',
      queue: 'nightly',
      definition: 'etl:1',
      status: 'RUNNING',
      createdAt: CHANGE - 10 * MINUTE,
      startedAt: CHANGE - 9 * MINUTE,
    },
  ];
});

/** The index as the state table keeps it: JSON by ARN. */
function memoryIndex(): DefinitionStore {
  const items = new Map<string, string>();
  return {
    async getMany(arns) {
      const found = new Map<string, CachedDefinition>();
      for (const arn of arns) {
        const body = items.get(arn);
        if (body) found.set(arn, JSON.parse(body));
      }
      return found;
    },
    async putMany(definitions) {
      for (const d of definitions) items.set(d.arn, JSON.stringify(d));
    },
  };
}

/** A process's cache on the test's clock, over `index` when given. */
const processCache = (index?: DefinitionStore) =>
  new DefinitionCache(index, { now: () => clock.now });

function clientsFor() {
  const route = scriptedRoute(account);
  const recorded = new RecordedAws((request) => fault?.(request) ?? route(request));
  const clients = new AwsClients({ requestHandler: recorded, credentials, maxAttempts: 1 });
  return { clients, recorded };
}

/** One sweep at the clock's time: discovery, then the plan's decision for the job. */
async function sweep(cache: DefinitionCache) {
  account.now = clock.now;
  const { clients, recorded } = clientsFor();
  const result = await discover(
    { drift: true },
    { regions: [REGION], clients, cache, now: () => new Date(clock.now) },
  );
  const decision = plan(result.consumers, POLICY).decisions.find(
    (d) => d.consumer.kind === 'batch-job',
  );
  const describes = recorded.calls('batch:DescribeJobDefinitions');
  clients.destroy();
  return { result, decision, describes };
}

function tagDefinition(tags: Record<string, string>) {
  (account.jobDefinitions[0] as { tags?: Record<string, string> }).tags = tags;
}

describe("a job definition's tags, changed after it was cached", () => {
  it.each(['ignore', 'notify'])(
    'stop the resubmit in a warm process once they are older than the limit (%s)',
    async (action) => {
      const cache = processCache();
      const first = await sweep(cache);
      expect(first.decision).toMatchObject({ action: 'resubmit', source: { kind: 'default' } });
      expect(first.describes).toHaveLength(1);

      tagDefinition({ [ACTION_TAG]: action });
      clock.now = T0 + 7 * HOUR;
      const later = await sweep(cache);
      expect(later.result.complete).toBe(true);
      expect(later.decision).toMatchObject({
        action,
        basis: 'policy',
        source: { kind: 'tag', level: 'job-definition' },
      });
      // One call for the tags of every old definition (100 an ARN list), by ARN.
      expect(later.describes).toHaveLength(1);
      expect(later.describes[0]?.input.jobDefinitions).toEqual([DEFINITION]);
    },
  );

  it('stop the resubmit in a new process over a warm index (entries 30 days old at most)', async () => {
    const index = memoryIndex();
    expect((await sweep(processCache(index))).decision?.action).toBe('resubmit');

    tagDefinition({ [ACTION_TAG]: 'ignore' });
    clock.now = T0 + 7 * HOUR;
    const cold = await sweep(processCache(index));
    expect(cold.decision?.action).toBe('ignore');
    expect(cold.describes).toHaveLength(1);

    // The index now holds the tags just read: another new process an hour later reads nothing.
    clock.now = T0 + 8 * HOUR;
    const next = await sweep(processCache(index));
    expect(next.decision?.action).toBe('ignore');
    expect(next.describes).toHaveLength(0);
  });

  it('are not read again while younger than the limit: the calls stay as they were', async () => {
    const index = memoryIndex();
    const cache = processCache(index);
    await sweep(cache);
    tagDefinition({ [ACTION_TAG]: 'ignore' });
    clock.now = T0 + TAGS_MAX_AGE_MS - MINUTE;
    // Warm process: no DescribeJobDefinitions at all (a revision never changes).
    const warm = await sweep(cache);
    expect(warm.describes).toHaveLength(0);
    // New process, warm index: none either.
    const cold = await sweep(processCache(index));
    expect(cold.describes).toHaveLength(0);
    // Within the limit the old tags still decide: the limit is one sweep, not zero.
    expect(warm.decision?.action).toBe('resubmit');
  });

  it('that cannot be read again leave a gap and mark the old ones outdated', async () => {
    const cache = processCache();
    await sweep(cache);
    tagDefinition({ [ACTION_TAG]: 'ignore' });
    clock.now = T0 + 7 * HOUR;
    fault = (request) =>
      request.operation === 'DescribeJobDefinitions'
        ? awsError(
            'AccessDeniedException',
            'not authorized to perform batch:DescribeJobDefinitions',
          )
        : undefined;
    const { clients } = clientsFor();
    const gaps: Gap[] = [];
    const [job] = await scanBatch(REGION, { clients, cache }, gaps);
    clients.destroy();
    expect(job).toMatchObject({ definitionTags: {}, definitionTagsOutdated: true });
    expect(job?.references).toHaveLength(1);
    expect(gaps).toEqual([
      expect.objectContaining({
        api: 'batch:DescribeJobDefinitions',
        scope: 'job definition tags',
        error: expect.stringContaining('AccessDenied'),
      }),
    ]);

    // Readable again: fresh tags, nothing outdated.
    fault = undefined;
    const again = clientsFor();
    const [fresh] = await scanBatch(REGION, { clients: again.clients, cache }, []);
    again.clients.destroy();
    expect(fresh).toMatchObject({
      definitionTags: { [ACTION_TAG]: 'ignore' },
      definitionTagsOutdated: false,
    });
  });

  it('that cannot be read again never decide a resubmit', async () => {
    const cache = processCache();
    await sweep(cache);
    tagDefinition({ [ACTION_TAG]: 'ignore' });
    clock.now = T0 + 7 * HOUR;
    fault = (request) =>
      request.operation === 'DescribeJobDefinitions'
        ? awsError('ServerException', 'internal error')
        : undefined;
    const { result, decision } = await sweep(cache);
    expect(result.complete).toBe(false);
    expect(result.gaps.map((gap) => gap.api)).toEqual(['batch:DescribeJobDefinitions']);
    expect(decision).toMatchObject({ action: 'notify', basis: 'tags-outdated' });
  });

  it('marked outdated make the plan notify instead of resubmitting, whatever level decides', async () => {
    const { decision } = await sweep(processCache());
    const consumer = decision?.consumer;
    if (!consumer) throw new Error('no job found');
    const outdated = {
      ...consumer,
      tags: consumer.tags.map((level) =>
        level.level === 'job-definition' ? { ...level, outdated: true } : level,
      ),
    };
    expect(decide(outdated, POLICY)).toMatchObject({
      action: 'notify',
      basis: 'tags-outdated',
      reason: expect.stringContaining("the job-definition's tags could not be read again"),
    });
    // Old tags that already say ignore or notify stand: they restart nothing.
    const ignored = {
      ...outdated,
      tags: outdated.tags.map((level) =>
        level.level === 'job-definition' ? { ...level, tags: { [ACTION_TAG]: 'ignore' } } : level,
      ),
    };
    expect(decide(ignored, POLICY)).toMatchObject({ action: 'ignore', basis: 'policy' });
  });
});
