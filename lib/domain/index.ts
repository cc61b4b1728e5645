/**
 * The domain's facts, which every layer may import: what changed (Change), what reads it
 * (Consumer, Run), what could not be read (Gap), what was done (Outcome), when a secret's label
 * moved (MoveTime), what is kept of a definition and the vocabulary of decisions. Types and
 * constant lists only: no I/O, no logic.
 */
export type { Change, ReplicaValue } from './change.js';
export type {
  Consumer,
  ConsumerKind,
  ConsumerReference,
  DeploymentState,
  DiscoveryResult,
  JobDetails,
  Progress,
  Run,
  ServiceDetails,
  ServiceStatus,
  TagLevel,
  VerdictCause,
} from './consumer.js';
export {
  ACTION_KINDS,
  type ActionKind,
  DECISION_BASES,
  type DecisionBasis,
  POLICY_ACTIONS,
  type PolicyAction,
} from './decision.js';
export type { CachedDefinition, DefinitionStore, Loaded, TagsLoaded } from './definition.js';
export type { Gap, GapScope } from './gap.js';
export type { MoveMemory, MoveTime, TimeBasis } from './moves.js';
export type { Nudge } from './nudge.js';
export {
  CHANNEL_KINDS,
  type ChannelKind,
  type Outcome,
  type OutcomeKind,
  type RestartKind,
  type StateKind,
} from './outcome.js';
export type {
  ChangedValue,
  ChangeEffect,
  Definition,
  DefinitionKind,
  RefContext,
  Reference,
  Target,
  TargetService,
} from './reference.js';
