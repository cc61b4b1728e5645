import { DescribeJobsCommand } from '@aws-sdk/client-batch';
import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  ListTasksCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import { PublishCommand } from '@aws-sdk/client-sns';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { ActionOutcome } from './actions/index.js';
import { type AwsClients, allPages, chunks, describeError } from './aws/index.js';
import type { Settings } from './config.js';
import type { Consumer, DiscoveryResult } from './discovery/index.js';
import { valueKey } from './events/index.js';
import {
  asciiSubject,
  escapeMrkdwn,
  oneLine,
  postToSlack,
  putEvent,
  type SlackMessage,
  slackWebhook,
} from './notify/index.js';
import type { PostOptions } from './notify/slack.js';
import { lastPart, refersTo, regionOf } from './refs/index.js';
import type { Outcome } from './report.js';
import {
  CLEARED,
  newRecord,
  type Observation,
  observe,
  type RotationRecord,
  type RotationStore,
  recordPk,
  recordSk,
  type Signal,
} from './state/rotations.js';

export const SIGNAL_SOURCE = 'rotation-watcher';
export const COMPLETE_DETAIL_TYPE = 'Rotation Complete';
export const OVERDUE_DETAIL_TYPE = 'Rotation Overdue';
/** SQS holds a message back 15 minutes at most: a follow-up looks again that often. */
export const FOLLOW_UP_DELAY_S = 900;

/** The body of the delayed message that brings a record back for a follow-up. */
export interface FollowUpMessage {
  'rotation-watcher': 'follow-up';
  pk: string;
  sk: string;
}

export interface FollowDeps {
  clients: AwsClients;
  store: RotationStore;
  settings: Settings;
  /** The watcher's own region (its topic, bus and queue). */
  home: string;
  /** The changes queue, for delayed follow-ups; none: records are only looked at again by the sweep. */
  queueUrl: string | null;
  now?: () => Date;
  slack?: PostOptions;
}

/**
 * A closed record whose signal did not reach every channel is told again by a later look (a
 * redelivery, a follow-up, the sweep), but not before this long after it closed: the run that
 * closed it is still telling.
 */
export const RESEND_AFTER_MS = 10 * 60_000;

export interface Recorded {
  outcomes: Outcome[];
  /** The records this run looked at (`PK SK`): the sweep does not follow them up again. */
  looked: Set<string>;
  /** Values (valueKey) whose record could not be opened: their events come back. */
  failed: Set<string>;
}

/**
 * After a run: one record per changed value (opened, or updated when a redelivery or a sweep sees
 * it again), older open records of the value superseded, a signal when a rotation is complete or
 * overdue, and a follow-up scheduled while one is open. Each step is an outcome, never a throw.
 */
export async function recordRun(
  result: DiscoveryResult,
  actions: ActionOutcome[],
  deps: FollowDeps,
  options: { open: boolean; decided?: ReadonlyMap<Consumer, string> } = { open: true },
): Promise<Recorded> {
  const now = deps.now?.() ?? new Date();
  const acted = new Map(
    actions.filter((a) => a.status === 'done').map((a) => [a.consumer.arn, a.kind]),
  );
  // Without a restart done, what the plan decided when it was only to tell or to leave alone.
  const doneTo = (consumer: Consumer) => {
    const decided = options.decided?.get(consumer);
    return (
      acted.get(consumer.arn) ?? (decided === 'notify' || decided === 'ignore' ? decided : null)
    );
  };
  const recorded: Recorded = { outcomes: [], looked: new Set(), failed: new Set() };
  const { outcomes } = recorded;
  for (const change of result.changes.filter(
    (c) => c.effect === 'value' && c.timeSource === 'aws',
  )) {
    const wanted = valueKey(change);
    const observations = result.consumers
      .filter((consumer) => consumer.references.some((ref) => refersTo(ref.target, change)))
      .map((consumer) =>
        observation(
          consumer,
          doneTo(consumer),
          // Its old runs count for this value only when this change is why they are old (or a
          // rollout is replacing them): a consumer stale for another value holds this one's new.
          consumer.cause === 'replaced' || consumer.changes.some((c) => valueKey(c) === wanted),
        ),
      );
    const pk = recordPk(change);
    const sk = recordSk(change);
    recorded.looked.add(`${pk} ${sk}`);
    let seen = null as RotationRecord | null;
    try {
      const written = await deps.store.update(pk, sk, (current) => {
        seen = current;
        if (!current) {
          // Only events open records: the sweep sees every value's last change, however old, and
          // only follows up what an event began.
          if (!options.open) return null;
          const record = newRecord(change, observations, now, deps.settings.completeDeadlineMs);
          const first = observeOrKeep(record, observations, now, result.complete);
          return { record: first.record, result: { signal: first.signal, opened: true } };
        }
        const next = observe(current, observations, now, result.complete);
        return next.record === current
          ? null
          : { record: next.record, result: { signal: next.signal, opened: false } };
      });
      const record: RotationRecord | null = written?.record ?? seen;
      // An event's run keeps its record on the sweep's list while it needs looking at (also on
      // a redelivery: the run that opened it may have stopped before listing it); when that
      // fails, the event comes back.
      if (options.open && record && needsLooking(record))
        await deps.store.track(record).catch((error: unknown) => {
          recorded.failed.add(wanted);
          outcomes.push(recordFailure(change.name, 'could not be listed for the sweep', error));
        });
      if (!written) {
        // Unchanged: a closed record whose signal was never told is told now.
        if (seen) outcomes.push(...(await settle(seen, deps, now)));
        continue;
      }
      if (written.result.opened) {
        await supersede(written.record, deps, now).catch((error: unknown) => {
          outcomes.push(
            recordFailure(change.name, 'the older record could not be marked superseded', error),
          );
        });
      }
      // One chain of follow-ups per record, begun when it opens: a redelivery, another event of
      // the same rotation or the sweep only updates it (and signals, if it closes).
      outcomes.push(
        ...(await after(written.record, written.result.signal, deps, written.result.opened)),
      );
    } catch (error) {
      if (options.open) recorded.failed.add(wanted);
      outcomes.push(recordFailure(change.name, 'could not be written', error));
    }
  }
  return recorded;
}

/** Open, or closed and its signal not yet told (`undefined`: from before signals were noted). */
const needsLooking = (record: RotationRecord) =>
  record.status === 'open' || (record.status !== 'superseded' && record.signalled === null);

function recordFailure(name: string, what: string, error: unknown): Outcome {
  return {
    kind: 'record',
    target: name,
    status: 'failed',
    detail: `the rotation record ${what}: ${describeError(error)}`,
  };
}

/**
 * A follow-up: re-reads only the record's consumers, updates it, signals or (with `schedule`, the
 * delayed-message chain) schedules the next look. A closed record is settled: told if it never
 * was, and dropped from the sweep's list.
 */
export async function followUp(
  pk: string,
  sk: string,
  deps: FollowDeps,
  options: { schedule: boolean } = { schedule: true },
): Promise<Outcome[]> {
  const now = deps.now?.() ?? new Date();
  const current = await deps.store.get(pk, sk);
  if (!current) {
    await deps.store.untrack(pk, sk);
    return [];
  }
  if (current.status !== 'open') return settle(current, deps, now);
  const { observations, complete } = await reread(current, deps.clients);
  let seen: RotationRecord | null = null;
  const written = await deps.store.update(pk, sk, (latest) => {
    seen = latest;
    if (!latest) return null;
    const next = observe(latest, observations, now, complete);
    return next.record === latest ? null : { record: next.record, result: next.signal };
  });
  // Nothing written: another run closed it meanwhile, or nothing changed; what the update read.
  const record = written?.record ?? seen ?? current;
  return after(record, written?.result ?? null, deps, options.schedule);
}

/**
 * A closed record seen again: told, if its signal never reached every channel and the run that
 * closed it has had its time; off the sweep's list once told (or superseded).
 */
async function settle(record: RotationRecord, deps: FollowDeps, now: Date): Promise<Outcome[]> {
  if (record.status === 'open') return [];
  if (!needsLooking(record)) {
    await deps.store.untrack(record.pk, record.sk);
    return [];
  }
  const closed = Date.parse(record.closedAt ?? record.openedAt);
  if (now.getTime() - closed < RESEND_AFTER_MS) return [];
  return tell(record, record.status === 'complete' ? 'complete' : 'overdue', deps);
}

function observeOrKeep(
  record: RotationRecord,
  observations: Observation[],
  now: Date,
  complete: boolean,
): { record: RotationRecord; signal: Signal } {
  // Opened with nobody on the old value (and the account read whole): complete at once.
  return record.consumers.length === 0
    ? observe(record, observations, now, complete)
    : { record, signal: null };
}

function observation(consumer: Consumer, action: string | null, holds: boolean): Observation {
  return {
    arn: consumer.arn,
    kind: consumer.kind,
    name: consumer.name,
    region: consumer.region,
    parent: consumer.parent,
    staleRuns: holds ? consumer.staleRuns : 0,
    running: consumer.runs.length > 0,
    replacing: consumer.cause === 'replaced',
    action,
  };
}

/** Marks the value's older open records superseded by this one, and says so in both. */
async function supersede(record: RotationRecord, deps: FollowDeps, now: Date): Promise<void> {
  const older = (await deps.store.list(record.pk)).filter(
    (other) => other.status === 'open' && other.sk < record.sk,
  );
  for (const other of older) {
    const written = await deps.store.update(other.pk, other.sk, (latest) =>
      latest && latest.status === 'open'
        ? {
            record: {
              ...latest,
              status: 'superseded',
              closedAt: now.toISOString(),
              supersededBy: record.sk,
            },
            result: null,
          }
        : null,
    );
    // Closed meanwhile by another run: it stays listed until its own signal is told.
    if (written) await deps.store.untrack(other.pk, other.sk);
  }
  if (older.length > 0) {
    const newest = older
      .map((other) => other.sk)
      .sort()
      .at(-1) as string;
    await deps.store.update(record.pk, record.sk, (latest) =>
      latest ? { record: { ...latest, supersedes: newest }, result: null } : null,
    );
  }
}

/** Tells of a closed record, or schedules the next look at an open one. */
async function after(
  record: RotationRecord,
  signal: Signal,
  deps: FollowDeps,
  schedule: boolean,
): Promise<Outcome[]> {
  if (signal) return tell(record, signal, deps);
  if (!schedule || record.status !== 'open' || !deps.queueUrl) return [];
  const message: FollowUpMessage = {
    'rotation-watcher': 'follow-up',
    pk: record.pk,
    sk: record.sk,
  };
  try {
    await deps.clients.get('sqs', deps.home).send(
      new SendMessageCommand({
        QueueUrl: deps.queueUrl,
        MessageBody: JSON.stringify(message),
        DelaySeconds: FOLLOW_UP_DELAY_S,
      }),
    );
    return [];
  } catch (error) {
    return [
      {
        kind: 'follow-up',
        target: record.value.name,
        status: 'failed',
        detail: `the next look could not be scheduled (the sweep will look): ${describeError(error)}`,
      },
    ];
  }
}

/** The `Rotation Complete` or `Rotation Overdue` event's detail. */
export function signalDetail(record: RotationRecord) {
  return {
    value: record.value,
    status: record.status,
    openedAt: record.openedAt,
    closedAt: record.closedAt,
    deadline: record.deadline,
    supersedes: record.supersedes,
    consumers: record.consumers.map(({ kind, arn, name, region, state, action }) => ({
      kind,
      arn,
      name,
      region,
      state,
      action,
    })),
  };
}

/** One short line for SNS and Slack. */
export function signalText(record: RotationRecord, signal: Exclude<Signal, null>): string {
  const name = record.value.name;
  if (signal === 'complete') {
    const count = record.consumers.length;
    return `Rotation complete: no running consumer holds the value of ${name} from before ${record.value.changedAt} (${count} consumer${count === 1 ? '' : 's'} cleared).`;
  }
  const left = record.consumers.filter((consumer) => consumer.state === 'stale-at-deadline');
  return `Rotation overdue: ${left.length} consumer${left.length === 1 ? '' : 's'} still hold the value of ${name} from before ${record.value.changedAt} at the deadline: ${left
    .slice(0, 10)
    .map((consumer) => consumer.name)
    .join(', ')}${left.length > 10 ? ', …' : ''}.`;
}

/** The signal as a short Slack message: the line, who was cleared or is left, the value. */
export function signalSlack(record: RotationRecord, signal: Exclude<Signal, null>): SlackMessage {
  const line = escapeMrkdwn(oneLine(signalText(record, signal), 1000));
  const shown = record.consumers
    .filter((consumer) => signal === 'complete' || consumer.state === 'stale-at-deadline')
    .slice(0, 10);
  const more = record.consumers.length - shown.length;
  const lines = shown.map(
    (consumer) =>
      `• ${escapeMrkdwn(oneLine(consumer.name, 150))} (${consumer.kind}): ${consumer.state}${consumer.action ? `, ${consumer.action}` : ''}`,
  );
  if (signal === 'complete' && more > 0) lines.push(`and ${more} more`);
  const { value } = record;
  return {
    text: line,
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `${signal === 'complete' ? ':white_check_mark:' : ':rotating_light:'} ${line}`,
        },
      },
      ...(lines.length
        ? [{ type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } }]
        : []),
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `rotation-watcher · ${value.service} ${escapeMrkdwn(oneLine(value.name, 300))} version ${escapeMrkdwn(value.version ?? '?')} changed ${value.changedAt}`,
          },
        ],
      },
    ],
  };
}

/**
 * Sends the signal to the watcher's bus, topic and Slack, each on its own. When every configured
 * channel took it, the record notes it was told and leaves the sweep's list; otherwise a later
 * look tells it again (so a channel may hear it twice, never zero times).
 */
async function tell(
  record: RotationRecord,
  signal: Exclude<Signal, null>,
  deps: FollowDeps,
): Promise<Outcome[]> {
  const { clients, settings, home } = deps;
  const detailType = signal === 'complete' ? COMPLETE_DETAIL_TYPE : OVERDUE_DETAIL_TYPE;
  const outcomes: Outcome[] = [];
  const attempt = async (kind: string, target: string, send: () => Promise<unknown>) => {
    try {
      await send();
      outcomes.push({ kind, target, status: 'done', detail: detailType });
    } catch (error) {
      outcomes.push({
        kind,
        target,
        status: 'failed',
        detail: `${detailType}: ${describeError(error)}`,
      });
    }
  };
  // On the watcher's bus, where its run events go (WATCHER_EVENT_BUS); none: SNS only.
  const bus = settings.eventBus;
  if (bus)
    await attempt('event', bus, () =>
      putEvent(clients, home, bus, {
        Source: SIGNAL_SOURCE,
        DetailType: detailType,
        Detail: JSON.stringify(signalDetail(record)),
        Resources: record.value.arn ? [record.value.arn] : [],
      }),
    );
  if (settings.snsTopicArn)
    await attempt('sns', settings.snsTopicArn, () =>
      clients.get('sns', regionOf(settings.snsTopicArn as string) ?? home).send(
        new PublishCommand({
          TopicArn: settings.snsTopicArn as string,
          Subject: asciiSubject(`${detailType}: ${record.value.name}`),
          Message: signalText(record, signal),
          MessageAttributes: {
            severity: { DataType: 'String', StringValue: signal === 'complete' ? 'info' : 'alarm' },
          },
        }),
      ),
    );
  if (settings.slackWebhookUrl ?? settings.slackWebhookParam)
    // The webhook URL is a credential: outcomes name the parameter or just "webhook".
    await attempt('slack', settings.slackWebhookParam ?? 'webhook', async () =>
      postToSlack(
        await slackWebhook({ clients, settings, region: home }),
        signalSlack(record, signal),
        deps.slack,
      ),
    );
  if (outcomes.some((outcome) => outcome.status === 'failed')) {
    // Told again later: listed for the sweep, and noted as not told (a record from before
    // signals were noted would otherwise count as told).
    try {
      await deps.store.update(record.pk, record.sk, (latest) =>
        latest && latest.signalled === undefined
          ? { record: { ...latest, signalled: null }, result: null }
          : null,
      );
      await deps.store.track(record);
    } catch (error) {
      outcomes.push(
        recordFailure(record.value.name, 'could not be listed to tell it again', error),
      );
    }
    return outcomes;
  }
  try {
    const at = (deps.now?.() ?? new Date()).toISOString();
    await deps.store.update(record.pk, record.sk, (latest) =>
      latest && !latest.signalled ? { record: { ...latest, signalled: at }, result: null } : null,
    );
    await deps.store.untrack(record.pk, record.sk);
  } catch (error) {
    outcomes.push(
      recordFailure(
        record.value.name,
        'could not note the signal as told (it may be told again)',
        error,
      ),
    );
  }
  return outcomes;
}

/**
 * The record's consumers as they are now, reading only them: a service's running tasks (ListTasks
 * by service name, DescribeTasks) and deployments (DescribeServices, 10 a call per cluster), a
 * task (DescribeTasks, 100 a call per cluster), a job (DescribeJobs, 100 a call per region).
 */
export async function reread(
  record: RotationRecord,
  clients: AwsClients,
): Promise<{ observations: Observation[]; complete: boolean }> {
  const changedAt = Date.parse(record.value.changedAt);
  const old = (created: Date | number | undefined) =>
    created === undefined || new Date(created).getTime() < changedAt;
  let complete = true;
  const observations: Observation[] = [];
  const open = record.consumers.filter((consumer) => !CLEARED.has(consumer.state));
  const base = (consumer: RotationRecord['consumers'][number]) => ({
    arn: consumer.arn,
    kind: consumer.kind,
    name: consumer.name,
    region: consumer.region,
    parent: consumer.parent,
    action: consumer.action,
  });
  const group = <T>(items: T[], key: (item: T) => string) => {
    const out = new Map<string, T[]>();
    for (const item of items) out.set(key(item), [...(out.get(key(item)) ?? []), item]);
    return out;
  };
  // Each group on its own: a deleted cluster or service means its consumers no longer run; any
  // other failure leaves that group unread (and the look incomplete), not the others.
  const gone = (error: unknown) =>
    ['ClusterNotFoundException', 'ServiceNotFoundException'].includes(
      (error as { name?: string }).name ?? '',
    );
  const readGroup = async (members: typeof open, read: () => Promise<void>) => {
    try {
      await read();
    } catch (error) {
      if (gone(error))
        for (const consumer of members)
          observations.push({ ...base(consumer), running: false, staleRuns: 0, replacing: false });
      else complete = false;
    }
  };
  const services = open.filter((c) => c.kind === 'ecs-service');
  for (const [where, members] of group(services, (c) => `${c.region}|${c.parent}`)) {
    const [region = '', cluster = ''] = where.split('|');
    const ecs = clients.get('ecs', region);
    await readGroup(members, async () => {
      const described = new Map<
        string,
        { deployments?: Array<{ createdAt?: Date; rolloutState?: string }>; status?: string }
      >();
      for (const batch of chunks(members, 10)) {
        const reply = await ecs.send(
          new DescribeServicesCommand({ cluster, services: batch.map((c) => c.arn) }),
        );
        for (const service of reply.services ?? [])
          described.set(service.serviceArn ?? '', service);
      }
      const seen: Observation[] = [];
      for (const consumer of members) {
        const service = described.get(consumer.arn);
        if (!service || service.status === 'INACTIVE') {
          seen.push({ ...base(consumer), running: false, staleRuns: 0, replacing: false });
          continue;
        }
        const arns = await allPages(async (nextToken) => {
          const page = await ecs.send(
            new ListTasksCommand({
              cluster,
              serviceName: lastPart(consumer.arn),
              desiredStatus: 'RUNNING',
              nextToken,
            }),
          );
          return { items: page.taskArns, next: page.nextToken };
        });
        const tasks: Task[] = [];
        for (const batch of chunks(arns, 100))
          tasks.push(
            ...((await ecs.send(new DescribeTasksCommand({ cluster, tasks: batch }))).tasks ?? []),
          );
        const newest = service.deployments?.[0];
        seen.push({
          ...base(consumer),
          running: tasks.length > 0,
          staleRuns: tasks.filter((task) => old(task.createdAt)).length,
          replacing:
            newest?.rolloutState === 'IN_PROGRESS' &&
            newest.createdAt !== undefined &&
            newest.createdAt.getTime() > changedAt,
        });
      }
      observations.push(...seen);
    });
  }
  const tasks = open.filter((c) => c.kind === 'ecs-task');
  for (const [where, members] of group(tasks, (c) => `${c.region}|${c.parent}`)) {
    const [region = '', cluster = ''] = where.split('|');
    await readGroup(members, async () => {
      for (const batch of chunks(members, 100)) {
        const reply = await clients
          .get('ecs', region)
          .send(new DescribeTasksCommand({ cluster, tasks: batch.map((c) => c.arn) }));
        for (const consumer of batch) {
          const task = reply.tasks?.find((t) => t.taskArn === consumer.arn);
          const running = Boolean(
            task && task.desiredStatus !== 'STOPPED' && task.lastStatus !== 'STOPPED',
          );
          observations.push({
            ...base(consumer),
            running,
            staleRuns: running && old(task?.createdAt) ? 1 : 0,
            replacing: false,
          });
        }
      }
    });
  }
  const jobs = open.filter((c) => c.kind === 'batch-job');
  for (const [region, members] of group(jobs, (c) => c.region)) {
    await readGroup(members, async () => {
      for (const batch of chunks(members, 100)) {
        const reply = await clients
          .get('batch', region)
          .send(new DescribeJobsCommand({ jobs: batch.map((c) => lastPart(c.arn)) }));
        for (const consumer of batch) {
          const job = reply.jobs?.find(
            (j) => j.jobArn === consumer.arn || j.jobId === lastPart(consumer.arn),
          );
          // An array or multi-node parent never shows RUNNING: its children run while it is
          // PENDING (or RUNNING, for nodes). Only a finished job no longer holds anything.
          const parent = Boolean(job?.arrayProperties?.size || job?.nodeProperties);
          const status = job?.status ?? '';
          const running = Boolean(
            job && (['STARTING', 'RUNNING'].includes(status) || (parent && status === 'PENDING')),
          );
          observations.push({
            ...base(consumer),
            running: Boolean(job && !['SUCCEEDED', 'FAILED'].includes(status)),
            staleRuns: running && old(job?.createdAt) ? 1 : 0,
            replacing: false,
          });
        }
      }
    });
  }
  return { observations, complete };
}
