import { InvokeCommand } from '@aws-sdk/client-lambda';
import type { Context } from 'aws-lambda';
import { describeError } from '../lib/aws/index.js';
import { type PipelineDeps, runPipeline } from '../lib/pipeline.js';
import { actByOf, lambdaDeps, logger, readByOf, record } from '../lib/runtime.js';

/**
 * A sweep that reaches its time limit hands over to a new invocation of itself, at most this many
 * times in a row; each one starts with the reference index the ones before it filled.
 */
export const MAX_SWEEP_HANDOVERS = 5;

/** The payload a sweep sends to the invocation it hands over to. */
export interface SweepHandover {
  'rotation-watcher': 'sweep-handover';
  handover: number;
}

/**
 * On a schedule: finds every running consumer created before the last change of a value
 * it references (the `drift` command) and applies the same plan as on-change. This is the safety
 * net for the events AWS delivers only on a best-effort basis.
 */
export function createHandler(build: () => PipelineDeps = lambdaDeps) {
  // What a Lambda container keeps between invocations, built on the first one.
  let kept: PipelineDeps | undefined;
  return (event?: unknown, context?: Partial<Context>) => {
    kept ??= build();
    return sweep(event, kept, context);
  };
}

/** The Lambda's entry point: one handler per container. */
export const handler = createHandler();

async function sweep(
  event: unknown,
  deps: PipelineDeps,
  context?: Partial<Context>,
): Promise<{ consumers: number; stale: number; complete: boolean; handedOver: boolean }> {
  const hop = handoverOf(event);
  const run = await runPipeline({ sweep: true }, deps, {
    apply: true,
    readBy: readByOf(context),
    actBy: actByOf(context),
  });
  const continued = run.handedOver && (await handOver(hop + 1, deps, context));
  record(
    run,
    { trigger: 'sweep', handover: hop, continued },
    {
      budgetUsed: deps.clients.budget.drawdown(),
      // A run that handed over keeps its time for the next invocation: the next one counts.
      ...(run.handedOver ? {} : { rotations: await countRotations(deps) }),
    },
  );
  return {
    consumers: run.report.consumers.length,
    stale: run.report.consumers.filter((consumer) => consumer.stale).length,
    complete: run.report.complete,
    handedOver: continued,
  };
}

/** Starts the next sweep (asynchronously) with the index this one filled; false when it cannot. */
async function handOver(
  next: number,
  { clients, home }: PipelineDeps,
  context: Partial<Context> | undefined,
): Promise<boolean> {
  const self = context?.invokedFunctionArn ?? context?.functionName;
  if (next > MAX_SWEEP_HANDOVERS || !self) {
    logger.error('the sweep reached its time limit and cannot hand over', {
      handovers: next - 1,
      reason: self ? `at most ${MAX_SWEEP_HANDOVERS} hand-overs in a row` : 'no function name',
    });
    return false;
  }
  const payload: SweepHandover = { 'rotation-watcher': 'sweep-handover', handover: next };
  try {
    await clients.once('lambda', home).send(
      new InvokeCommand({
        FunctionName: self,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(payload)),
      }),
    );
    logger.info('the sweep reached its time limit and handed over', { handover: next });
    return true;
  } catch (error) {
    logger.error('the sweep could not hand over; the next scheduled sweep starts again', {
      error: describeError(error),
    });
    return false;
  }
}

/** Rotation records open and overdue after the sweep, for the dashboard; none when it cannot tell. */
async function countRotations({
  rotations,
}: PipelineDeps): Promise<{ open: number; overdue: number } | undefined> {
  if (!rotations) return undefined;
  try {
    return await rotations.store.count();
  } catch (error) {
    logger.warn('could not count the open rotation records', { error: describeError(error) });
    return undefined;
  }
}

/** How many sweeps handed over before this one (0 for a scheduled sweep). */
function handoverOf(event: unknown): number {
  const hop = (event as Partial<SweepHandover> | undefined)?.handover;
  return (event as Partial<SweepHandover> | undefined)?.['rotation-watcher'] === 'sweep-handover' &&
    Number.isInteger(hop) &&
    (hop as number) > 0
    ? (hop as number)
    : 0;
}
