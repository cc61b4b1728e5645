import { AsyncLocalStorage } from 'node:async_hooks';
import { BatchClient } from '@aws-sdk/client-batch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import pLimit, { type LimitFunction } from 'p-limit';
import { ApiBudget, DEFAULT_API_SHARE, TimeLimitError } from './budget.js';
import { type ApiCount, CallCounter } from './calls.js';
import { isThrottling } from './errors.js';

/** The services the watcher calls, by the short name used in counts and limits. */
const FACTORIES = {
  ecs: ECSClient,
  batch: BatchClient,
  ssm: SSMClient,
  secretsmanager: SecretsManagerClient,
  sns: SNSClient,
  events: EventBridgeClient,
  sts: STSClient,
  dynamodb: DynamoDBClient,
  lambda: LambdaClient,
  sqs: SQSClient,
} as const;

export type ServiceName = keyof typeof FACTORIES;
type ClientOf<S extends ServiceName> = InstanceType<(typeof FACTORIES)[S]>;

export interface ClientOptions {
  /** Attempts per call, retries included (adaptive mode also rate-limits on the client side). */
  maxAttempts?: number;
  /** The SDK's retry mode; `adaptive` (the default here) also slows down when throttled. */
  retryMode?: 'standard' | 'adaptive';
  /** Calls in flight at once per service and region. AWS throttles per account and region. */
  concurrency?: Partial<Record<ServiceName, number>>;
  /** Per-attempt timeout in milliseconds (default 10 s). */
  requestTimeoutMs?: number;
  /** Counts every call these clients send, whatever the run (see `AwsClients.sent`). */
  counter?: CallCounter;
  /** An HTTP handler to use instead of the SDK's (tests serve recorded AWS replies through it). */
  requestHandler?: unknown;
  /** Credentials to use instead of the SDK's chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /**
   * A named profile of the shared config and credentials files (the CLI's --profile): its
   * credentials, and its region where a client is built without one, as AWS_PROFILE would.
   */
  profile?: string;
  /**
   * The share of each ECS and Batch throttle bucket the watcher may take (0 to 1; default 0.25,
   * `WATCHER_API_SHARE`); 0 turns the budget off.
   */
  apiShare?: number;
  /** Told of each call before it is sent, retries not repeated (tests record calls with it). */
  onCall?: (call: { service: string; api: string; region: string; input: unknown }) => void;
}

const DEFAULT_CONCURRENCY: Record<ServiceName, number> = {
  ecs: 8,
  batch: 4,
  ssm: 4,
  secretsmanager: 4,
  sns: 2,
  events: 2,
  sts: 1,
  dynamodb: 4,
  lambda: 1,
  sqs: 2,
};

/**
 * What belongs to one run on long-lived clients: its own call counts and its own time limit. A
 * Lambda container keeps its clients between invocations, and the CLI's `wait` and tests run
 * several runs on one set of clients, at times at once; the SDK clients, the concurrency limits
 * and the API budget's buckets stay shared, since AWS throttles the account, not the run.
 */
export interface RunScope {
  /** The run's calls, and only its own. */
  readonly counter: CallCounter;
  /** Reads of the account must start by this time (epoch ms), or fail with TimeLimitError. */
  readonly deadline?: number;
}

/**
 * Builds every AWS client in one place: one per service and region, adaptive retries, a call
 * counter on each, and a concurrency limit per service and region. Endpoint and credentials
 * come from the SDK's standard chain (so AWS_ENDPOINT_URL points everything at an emulator).
 *
 * @example
 * const clients = new AwsClients({ apiShare: 0.5 });
 * const report = await clients.run(async () => {
 *   await clients.until(readBy, () => discover(query, { clients, ... }));
 *   return clients.counter.byApi(); // this run's calls only
 * });
 */
export class AwsClients {
  /** Every call these clients sent, whatever the run (a container's lifetime, a test's). */
  readonly sent: CallCounter;
  /** The API budget every attempt is paced by, shared by every run on these clients. */
  readonly budget: ApiBudget;
  private readonly clients = new Map<string, unknown>();
  private readonly limits = new Map<string, LimitFunction>();
  /** The run the current code is part of; read by the middleware of every client. */
  private readonly scope = new AsyncLocalStorage<RunScope>();

  constructor(private readonly options: ClientOptions = {}) {
    this.sent = options.counter ?? new CallCounter();
    this.budget = new ApiBudget(options.apiShare ?? DEFAULT_API_SHARE);
  }

  /** The calls of the run this code is part of (see `run`); outside any run, `sent`. */
  get counter(): CallCounter {
    return this.scope.getStore()?.counter ?? this.sent;
  }

  /** The time limit of the code running now (see `until`); none outside one. */
  get deadline(): number | undefined {
    return this.scope.getStore()?.deadline;
  }

  /**
   * Runs `task` as one run: the calls it makes, awaited or not, are counted in a counter of its
   * own (`counter` inside it), apart from any other run on these clients, and every call also
   * in `sent`. Nested in another run, it is a run of its own.
   */
  run<T>(task: () => Promise<T>): Promise<T> {
    return this.scope.run({ counter: new CallCounter() }, task);
  }

  /**
   * Runs `task` with reads of the account limited to start by `deadline` (epoch ms; none: no
   * limit), counted in the current run. The limit is the task's alone: other runs keep theirs.
   */
  until<T>(deadline: number | undefined, task: () => Promise<T>): Promise<T> {
    return this.scope.run({ counter: this.counter, deadline }, task);
  }

  get<S extends ServiceName>(service: S, region: string): ClientOf<S> {
    return this.client(service, region, this.options.maxAttempts ?? 8);
  }

  /**
   * A client that sends each request once, never retrying: for calls that change something
   * (UpdateService, SubmitJob), where a retry after AWS accepted the first attempt would do it
   * twice. The caller decides what an ambiguous failure means by reading AWS back.
   */
  once<S extends ServiceName>(service: S, region: string): ClientOf<S> {
    return this.client(service, region, 1);
  }

  private client<S extends ServiceName>(service: S, region: string, attempts: number): ClientOf<S> {
    const key = `${service}|${region}|${attempts}`;
    let client = this.clients.get(key) as ClientOf<S> | undefined;
    if (!client) {
      const Factory = FACTORIES[service] as unknown as new (config: object) => ClientOf<S>;
      client = new Factory({
        region,
        retryMode: this.options.retryMode ?? 'adaptive',
        maxAttempts: attempts,
        // A hung connection must not hang the run: each attempt times out and is retried.
        requestHandler: this.options.requestHandler ?? {
          requestTimeout: this.options.requestTimeoutMs ?? 10_000,
          connectionTimeout: 3_000,
        },
        ...(this.options.credentials ? { credentials: this.options.credentials } : {}),
        ...(this.options.profile ? { profile: this.options.profile } : {}),
        // SQS takes the account and queue from a QueueUrl; its host would override the endpoint
        // the SDK resolves (China and GovCloud partitions, FIPS, an emulator).
        ...(service === 'sqs' ? { useQueueUrlAsEndpoint: false } : {}),
      });
      // The budget first: an attempt is counted once it has its token and is sent.
      paceAttempts(client, service, region, this.budget, () => this.deadline);
      countCalls(
        client,
        service,
        (api, field) => this.record(api, field),
        (api, input) => this.options.onCall?.({ service, api, region, input }),
      );
      this.clients.set(key, client);
    }
    return client;
  }

  /** Counts a call in `sent` and in the current run's counter. */
  private record(api: string, field: keyof ApiCount): void {
    this.sent.record(api, field);
    const own = this.scope.getStore()?.counter;
    if (own && own !== this.sent) own.record(api, field);
  }

  /** Runs `task` within the concurrency limit of `service` in `region`. */
  limited<T>(service: ServiceName, region: string, task: () => Promise<T>): Promise<T> {
    const key = `${service}|${region}`;
    let limit = this.limits.get(key);
    if (!limit) {
      limit = pLimit(this.options.concurrency?.[service] ?? DEFAULT_CONCURRENCY[service]);
      this.limits.set(key, limit);
    }
    return limit(task);
  }

  /** Releases the clients' sockets (the CLI calls it before exit). */
  destroy(): void {
    for (const client of this.clients.values()) (client as { destroy(): void }).destroy();
    this.clients.clear();
  }
}

interface Stackable {
  middlewareStack: {
    add(
      middleware: (
        next: (args: unknown) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: unknown) => Promise<unknown>,
      options: {
        step: 'initialize' | 'deserialize';
        name: string;
        priority?: 'high' | 'low' | 'normal';
      },
    ): void;
  };
}

/**
 * Counts each call once (initialize) and each HTTP attempt, throttled or not (deserialize); tells
 * `onCall` of each call once, with its input.
 */
function countCalls(
  client: unknown,
  service: ServiceName,
  record: (api: string, field: keyof ApiCount) => void,
  onCall: (api: string, input: unknown) => void,
): void {
  const stack = (client as Stackable).middlewareStack;
  const api = (context: { commandName?: string }) =>
    `${service}:${(context.commandName ?? 'Unknown').replace(/Command$/, '')}`;
  stack.add(
    (next, context) => async (args) => {
      onCall(
        (context.commandName ?? 'Unknown').replace(/Command$/, ''),
        (args as { input?: unknown }).input,
      );
      try {
        const output = await next(args);
        record(api(context), 'calls');
        return output;
      } catch (error) {
        // A call the time limit kept from being sent cost AWS nothing: it is not counted.
        if (error instanceof TimeLimitError) throw error;
        record(api(context), 'calls');
        record(api(context), 'failed');
        throw error;
      }
    },
    { step: 'initialize', name: 'rotationWatcherCallCounter', priority: 'high' },
  );
  stack.add(
    (next, context) => async (args) => {
      record(api(context), 'attempts');
      try {
        return await next(args);
      } catch (error) {
        if (isThrottling(error)) record(api(context), 'throttled');
        throw error;
      }
    },
    { step: 'deserialize', name: 'rotationWatcherAttemptCounter', priority: 'high' },
  );
}

/**
 * Takes a token of the API budget before each HTTP attempt (retries draw on AWS's bucket too) and
 * tells the budget of throttling answers. Runs inside the retry loop, so a retry waits its turn.
 */
function paceAttempts(
  client: unknown,
  service: ServiceName,
  region: string,
  budget: ApiBudget,
  deadline: () => number | undefined,
) {
  const stack = (client as Stackable).middlewareStack;
  stack.add(
    (next, context) => async (args) => {
      const api = `${service}:${(context.commandName ?? 'Unknown').replace(/Command$/, '')}`;
      await budget.take(api, region, deadline());
      try {
        return await next(args);
      } catch (error) {
        if (isThrottling(error)) budget.throttled(api, region);
        throw error;
      }
    },
    { step: 'deserialize', name: 'rotationWatcherApiBudget', priority: 'high' },
  );
}
