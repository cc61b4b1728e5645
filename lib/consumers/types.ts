import type { AwsClients } from '../aws/index.js';
import type { DefinitionCache } from '../consumers/definitions.js';
import type {
  Change,
  Consumer,
  ConsumerKind,
  ConsumerReference,
  Gap,
  Progress,
  Run,
  ServiceDetails,
} from '../domain/index.js';
import type { ScannedJob } from './batch-scan.js';
import type { ScannedTask } from './ecs-scan.js';
import type { ChangeOnce, Restarted } from './restart.js';
import type { Verdict } from './staleness.js';

/** What a scan of a region needs: the clients, the definitions already read, who to tell. */
export interface ScanDeps {
  clients: AwsClients;
  cache: DefinitionCache;
  onProgress?: (progress: Progress) => void;
}

/** What the scans found: the running tasks of every cluster and the live jobs of every queue. */
export interface Scanned {
  tasks: ScannedTask[];
  jobs: ScannedJob[];
}

/** What finding the consumers of one kind needs besides the scan and the changes. */
export interface FindContext {
  clients: AwsClients;
  /** Where reads that fail are recorded. */
  gaps: Gap[];
  now: Date;
}

/** A consumer the watcher already knows (a rotation record's), to be looked at again. */
export interface KnownConsumer {
  arn: string;
  region: string;
  /** Its cluster or job queue. */
  parent: string | null;
}

/** What a look at a known consumer saw. */
export interface Sighting {
  /** Whether it still runs at all. */
  running: boolean;
  /** How many of its runs may hold the value from before the change (0: nothing old runs). */
  staleRuns: number;
  /** A rollout begun after the change is replacing them. */
  replacing: boolean;
}

/** What a look at known consumers needs: the one change, and the value as their reference. */
export interface Look {
  change: Change;
  /** The record's value as a reference every run of a known consumer holds. */
  references: ConsumerReference[];
  clients: AwsClients;
  now: Date;
  /** Where reads that fail are recorded: a consumer in a failed read is not seen. */
  gaps: Gap[];
}

/** What a look at the known consumers of one kind saw, in their order; unread ones are left out. */
export interface Reread<K extends KnownConsumer> {
  sightings: Array<{ consumer: K; sighting: Sighting }>;
  /** How many could not be read by a read that records no gap (a service's task list). */
  unread: number;
}

/**
 * One kind of consumer (ECS service, standalone ECS task, Batch job): how it is found among the
 * scanned tasks and jobs, judged, looked at again and restarted.
 */
export interface ConsumerStrategy {
  kind: ConsumerKind;
  /** The consumers of this kind among the scanned items that reference the changes, judged. */
  find(scanned: Scanned, changes: Change[], context: FindContext): Promise<Consumer[]>;
  /** Whether a consumer of this kind with these runs may hold an old value (the one rule). */
  judge(runs: Run[], changes: Change[], now: Date, service?: ServiceDetails | null): Verdict;
  /** The known consumers of this kind as they are now, reading only them. */
  reread<K extends KnownConsumer>(known: K[], look: Look): Promise<Reread<K>>;
  /** Restarts it, sending each change once through `once`; what changed, for the outcome. */
  restart?(consumer: Consumer, clients: AwsClients, once: ChangeOnce): Promise<Restarted>;
}
