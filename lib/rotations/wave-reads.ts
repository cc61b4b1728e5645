// What AWS says now of the restarts of a record's wave in flight: each service's deployment
// (DescribeServices; the stopped tasks' reasons when it failed, or when a task stopped during the
// bake) and each resubmitted job (DescribeJobs). Events only say when to look: what is concluded
// is read here, so an event late, repeated or out of order changes nothing.

import type { JobDetail } from '@aws-sdk/client-batch';
import type { Task } from '@aws-sdk/client-ecs';
import { type AwsClients, chunks } from '../aws/index.js';
import { jobsDescribed } from '../consumers/batch-reads.js';
import { servicesNow, stoppedTasksOf } from '../consumers/ecs-reads.js';
import { groupBy } from '../consumers/shared.js';
import type { Nudge } from '../domain/index.js';
import type { RestartFact } from './wave-progress.js';
import { NOT_NEEDED, type WaveRestart, type Waves } from './waves.js';

/** Stops that say nothing of the value: a person's, a scale-in or a replacement, the host's. */
const HARMLESS_STOPS = new Set(['UserInitiated', 'SpotInterruption', 'TerminationNotice']);

/** Whether a stopped task failed on its own (could not start, its essential container exited, a health check). */
export function badStop(task: Pick<Task, 'stopCode' | 'stoppedReason'>): boolean {
  if (!task.stopCode) return false;
  if (HARMLESS_STOPS.has(task.stopCode)) return false;
  if (task.stopCode === 'ServiceSchedulerInitiated')
    return /health ?check/i.test(task.stoppedReason ?? '');
  return true;
}

/**
 * The facts of the wave in flight: its restarts not yet settled, and, once its bake has ended, the
 * settled ones (a task of their deployment that stopped since the wave settled, a job that failed).
 * `nudges` keep what the events said when AWS no longer shows it (a rolled-back deployment).
 */
export async function readFacts(
  waves: Waves,
  clients: AwsClients,
  nudges: Nudge[] = [],
  now: Date = new Date(),
): Promise<Map<string, RestartFact>> {
  const index = waves.waves.length - 1;
  const wave = waves.waves[index];
  const facts = new Map<string, RestartFact>();
  if (!wave || waves.status !== 'rolling') return facts;
  // The bake is judged once, when it ends: ECS lists a stopped task for an hour or more, so a
  // look then sees every stop since the wave settled (a wave waits for it either way).
  const baked = wave.bakedAt !== null && wave.bakedAt <= now.toISOString();
  const looked = waves.restarts.filter(
    (restart) =>
      restart.wave === index &&
      // A consumer that needed no restart has nothing to read.
      restart.reason !== NOT_NEEDED &&
      (restart.state === 'in-flight' || (restart.state === 'settled' && baked)),
  );
  const services = looked.filter((restart) => restart.kind === 'redeploy');
  const jobs = looked.filter((restart) => restart.kind === 'resubmit' && restart.ref !== null);
  await Promise.all([
    ...[...groupBy(services, (r) => `${r.region} ${r.parent ?? ''}`).values()].map((group) =>
      serviceFacts(group, wave.settledAt, clients, nudges, facts, now),
    ),
    ...[...groupBy(jobs, (r) => r.region).values()].map((group) =>
      jobFacts(group, clients, nudges, facts, now),
    ),
  ]);
  return facts;
}

async function serviceFacts(
  restarts: WaveRestart[],
  bakingSince: string | null,
  clients: AwsClients,
  nudges: Nudge[],
  facts: Map<string, RestartFact>,
  now: Date,
): Promise<void> {
  const first = restarts[0] as WaveRestart;
  const cluster = first.parent ?? clusterOf(first.arn);
  let described: Awaited<ReturnType<typeof servicesNow>>;
  try {
    described = await servicesNow(
      first.region,
      cluster,
      restarts.map((r) => r.arn),
      clients,
    );
  } catch {
    for (const restart of restarts) facts.set(restart.arn, { state: 'unread' });
    return;
  }
  await Promise.all(
    restarts.map(async (restart) => {
      const service = described.find((s) => s.serviceArn === restart.arn);
      try {
        facts.set(
          restart.arn,
          await serviceFact(restart, service, bakingSince, clients, nudges, now),
        );
      } catch (error) {
        // The stopped tasks could not be listed: nothing is concluded on this look.
        facts.set(restart.arn, { state: 'unread' });
        void error;
      }
    }),
  );
}

type Described = Awaited<ReturnType<typeof servicesNow>>[number];

async function serviceFact(
  restart: WaveRestart,
  service: Described | undefined,
  bakingSince: string | null,
  clients: AwsClients,
  nudges: Nudge[],
  clock: Date,
): Promise<RestartFact> {
  const now = clock.toISOString();
  if (!service || service.status === 'INACTIVE' || service.status === 'DRAINING')
    return { state: 'settled', at: now, reason: 'the service was deleted' };
  const cluster = restart.parent ?? clusterOf(restart.arn);
  const said = nudges.find(
    (nudge): nudge is Extract<Nudge, { kind: 'ecs-deployment' }> =>
      nudge.kind === 'ecs-deployment' && restart.ref !== null && nudge.deploymentId === restart.ref,
  );
  const stopped = async (deployment: string) =>
    (await stoppedTasksOf(restart.region, cluster, deployment, clients))
      .filter(badStop)
      .map((task) => task.stoppedReason ?? task.stopCode ?? 'stopped');
  const deployments = service.deployments ?? [];
  // A redeploy whose answer named no deployment is followed by the service's newest one.
  const ref = restart.ref ?? newest(deployments, restart.at)?.id ?? null;
  if (restart.state === 'settled') {
    // Baking: a task of the new deployment that failed since the wave settled halts the waves.
    if (!ref) return { state: 'settled', at: restart.settledAt ?? now };
    const since = Date.parse(bakingSince ?? restart.settledAt ?? restart.at);
    const failed = (await stoppedTasksOf(restart.region, cluster, ref, clients)).filter(
      (task) => badStop(task) && (task.stoppedAt?.getTime() ?? 0) >= since,
    );
    if (failed.length === 0) return { state: 'settled', at: restart.settledAt ?? now };
    return {
      state: 'failed',
      reason: `a task of deployment ${ref} stopped during the bake (${failed[0]?.stopCode})`,
      stopped: failed.map((task) => task.stoppedReason ?? task.stopCode ?? 'stopped'),
    };
  }
  const mine = deployments.find((deployment) => deployment.id === ref);
  if (mine && ref) {
    if (
      mine.rolloutState === 'COMPLETED' ||
      (mine.rolloutState == null && steady(mine, deployments))
    )
      return { state: 'settled', at: (mine.updatedAt ?? clock).toISOString() };
    if (mine.rolloutState === 'FAILED' || said?.eventName === 'SERVICE_DEPLOYMENT_FAILED')
      return {
        state: 'failed',
        reason: mine.rolloutStateReason ?? said?.reason ?? `deployment ${ref} failed`,
        stopped: await stopped(ref),
      };
    // Without the circuit breaker ECS launches failing tasks again and again: as many failures
    // as the service runs tasks is not a blip.
    if ((mine.failedTasks ?? 0) >= Math.max(2, mine.desiredCount ?? 0))
      return {
        state: 'failed',
        reason: `${mine.failedTasks} tasks of deployment ${ref} failed to start or stopped`,
        stopped: await stopped(ref),
      };
    return {
      state: 'in-progress',
      ...(mine.updatedAt ? { since: mine.updatedAt.toISOString() } : {}),
    };
  }
  // No longer listed: rolled back by the circuit breaker (a rollback that completed no longer
  // says so), or replaced by a deployment someone else began. Which one cannot be told from
  // here, and a rollback is a failure: the waves halt, and a person decides.
  if (!ref) return { state: 'in-progress' };
  const primary = deployments.find((deployment) => deployment.status === 'PRIMARY');
  return {
    state: 'failed',
    reason:
      said?.eventName === 'SERVICE_DEPLOYMENT_FAILED'
        ? (said.reason ?? `deployment ${ref} failed`)
        : /roll(ing|ed)?[ -]?back/i.test(primary?.rolloutStateReason ?? '')
          ? (primary?.rolloutStateReason ?? `deployment ${ref} was rolled back`)
          : `deployment ${ref} is no longer listed (rolled back, or replaced by deployment ${primary?.id ?? 'unknown'}): a person must look`,
    stopped: await stopped(ref),
  };
}

type Deployment = NonNullable<Described['deployments']>[number];

/** The service's newest deployment begun since `at` (less a minute of clock skew). */
function newest(deployments: Deployment[], at: string): Deployment | undefined {
  return [...deployments]
    .filter((d) => (d.createdAt?.getTime() ?? 0) >= Date.parse(at) - 60_000)
    .sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0))[0];
}

/**
 * ECS reports no rolloutState for services behind a Classic Load Balancer: such a deployment is
 * done when it is the only one, runs its desired count, nothing is pending, and fewer tasks
 * failed than would halt the waves.
 */
function steady(d: Deployment, all: Deployment[]): boolean {
  return (
    d.status === 'PRIMARY' &&
    all.every((other) => other === d || other.status === 'INACTIVE') &&
    (d.runningCount ?? 0) >= (d.desiredCount ?? 1) &&
    (d.pendingCount ?? 0) === 0 &&
    // ECS never resets failedTasks: below the count that halts (a blip) does not keep it open.
    (d.failedTasks ?? 0) < Math.max(2, d.desiredCount ?? 0)
  );
}

async function jobFacts(
  restarts: WaveRestart[],
  clients: AwsClients,
  nudges: Nudge[],
  facts: Map<string, RestartFact>,
  now: Date,
): Promise<void> {
  const region = (restarts[0] as WaveRestart).region;
  let jobs: JobDetail[];
  try {
    // DescribeJobs takes 100 jobs a call.
    const ids = restarts.map((r) => r.ref as string);
    jobs = (
      await Promise.all(chunks(ids, 100).map((group) => jobsDescribed(region, group, clients)))
    ).flat();
  } catch {
    for (const restart of restarts) facts.set(restart.arn, { state: 'unread' });
    return;
  }
  for (const restart of restarts) {
    const job = jobs.find((j) => j.jobId === restart.ref);
    const said = nudges.find((n) => n.kind === 'batch-job' && n.jobId === restart.ref);
    const status = job?.status ?? (said?.kind === 'batch-job' ? said.status : undefined);
    if (status === 'FAILED') {
      const reason =
        job?.statusReason ??
        (said?.kind === 'batch-job' ? said.statusReason : null) ??
        `job ${restart.ref} failed`;
      const exited = (job?.attempts ?? [])
        .map((attempt) => attempt.container?.reason ?? attempt.statusReason)
        .filter((text): text is string => Boolean(text));
      facts.set(restart.arn, { state: 'failed', reason, stopped: exited });
    } else if (restart.state === 'settled')
      facts.set(restart.arn, { state: 'settled', at: restart.settledAt ?? restart.at });
    else if (status === 'RUNNING' || status === 'SUCCEEDED') {
      const started = job?.startedAt ?? job?.stoppedAt;
      facts.set(restart.arn, {
        state: 'settled',
        at: started ? new Date(started).toISOString() : now.toISOString(),
      });
    } else if (!job) facts.set(restart.arn, { state: 'unread' });
    // A job waiting for capacity (RUNNABLE) is not stalled: it may wait hours, as Batch intends.
    else
      facts.set(
        restart.arn,
        status === 'RUNNABLE'
          ? { state: 'in-progress', since: now.toISOString() }
          : { state: 'in-progress' },
      );
  }
}

/** `arn:…:service/CLUSTER/NAME` → CLUSTER. */
function clusterOf(arn: string): string {
  return arn.split('/').at(-2) ?? arn;
}
