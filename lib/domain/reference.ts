/** The two AWS services whose values ECS and Batch inject at container start. */
export type TargetService = 'ssm' | 'secretsmanager';

/**
 * What a `valueFrom` (or `credentialsParameter`) names, normalized. `null` where the reference
 * does not say and the consumer's context could not fill it in.
 */
export interface Target {
  service: TargetService;
  partition: string | null;
  region: string | null;
  account: string | null;
  /**
   * Parameter Store: the parameter name as SSM spells it (hierarchical names with their leading
   * slash, whether the reference wrote it or not). Secrets Manager: the secret name, without the 6-character suffix of a full ARN.
   */
  name: string;
  /** Parameter Store: the parameter ARN. Secrets Manager: the secret ARN as given (full or partial). */
  arn: string | null;
  jsonKey: string | null;
  versionStage: string | null;
  versionId: string | null;
}

/** Region and account that bare Parameter Store names resolve against. */
export interface RefContext {
  region: string | null;
  account: string | null;
  partition?: string | null;
}

export type DefinitionKind = 'ecs-task-definition' | 'batch-job-definition';

/** One secret reference found in a task or job definition. */
export interface Reference {
  /** The container that receives the value (`null` for a volume's credentials or Batch's single container). */
  container: string | null;
  /** Where in the definition the reference sits, e.g. `secrets` or `logConfiguration.secretOptions`. */
  field: string;
  /** The environment variable or option name, the volume name for FSx credentials, `null` for registry credentials. */
  name: string | null;
  valueFrom: string;
  target: Target | null;
  /** Why `target` is null: the reference could not be understood. */
  problem: string | null;
}

/** A task or job definition recognised in some JSON, with the references it carries. */
export interface Definition {
  kind: DefinitionKind;
  /** The ARN when known, else `family:revision` / `name:revision`. */
  id: string;
  arn: string | null;
  region: string | null;
  account: string | null;
  references: Reference[];
}

/** What a change says about the value it changed, as far as ECS and Batch can see it. */
export type ChangeEffect = 'value' | 'deleted' | 'label' | 'notice';

/** The part of a change that matching needs (a `Change` from `lib/events` is one). */
export interface ChangedValue {
  service: TargetService;
  name: string;
  arn: string | null;
  region: string | null;
  account: string | null;
  effect: ChangeEffect;
  /** Secrets Manager: the staging label that moved (`null` means AWSCURRENT). */
  versionStage: string | null;
}
