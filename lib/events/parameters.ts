import type { Change } from '../domain/index.js';
import { clip } from '../refs/errors.js';
import { parameterArn } from '../refs/index.js';
import {
  type Envelope,
  ParameterChangeDetailSchema,
  ParameterPolicyDetailSchema,
} from './schemas.js';
import { type Base, type EventResult, own, validate } from './shared.js';

// Parameter Store's own events: a parameter created, updated, deleted or labelled, and the
// actions of its policies (Expiration, ExpirationNotification, NoChangeNotification).

export function parameterChange(envelope: Envelope, base: Base): EventResult {
  const detail = validate(
    ParameterChangeDetailSchema,
    envelope.detail,
    'Parameter Store Change event',
    'detail',
  );
  // A failed operation (an aws:ec2:image parameter whose image could not be validated, say)
  // changes nothing, though it is announced as a change.
  if (detail.exception) {
    return {
      changes: [],
      ignored: `the ${clip(detail.operation, 64)} of ${clip(detail.name, 200)} failed (${clip(detail.exception, 120)}); the value did not change`,
    };
  }
  const effect = own(PARAMETER_EFFECTS, detail.operation);
  if (!effect) {
    return {
      changes: [],
      ignored: `Parameter Store operation "${clip(detail.operation, 64)}" is not one the watcher acts on`,
    };
  }
  return {
    changes: [parameter(envelope, base, detail.name, detail.operation, effect)],
    ignored: null,
  };
}

const PARAMETER_EFFECTS: Record<string, Change['effect']> = {
  Create: 'value',
  Update: 'value',
  Delete: 'deleted',
  LabelParameterVersion: 'label',
};

export function parameterPolicy(envelope: Envelope, base: Base): EventResult {
  const detail = validate(
    ParameterPolicyDetailSchema,
    envelope.detail,
    'Parameter Store Policy Action event',
    'detail',
  );
  const policy = detail['policy-type'];
  // An Expiration policy that finished deleted the parameter; the two notification policies,
  // and an expiration that failed, change nothing.
  const status = detail['action-status'];
  const effect =
    policy === 'Expiration' && (status === undefined || status === 'Finished')
      ? 'deleted'
      : 'notice';
  return {
    changes: [parameter(envelope, base, detail['parameter-name'], policy, effect)],
    ignored: null,
  };
}

function parameter(
  envelope: Envelope,
  base: Base,
  name: string,
  operation: string,
  effect: Change['effect'],
): Change {
  const given = envelope.resources.find((arn) => arn.startsWith(`arn:${base.partition}:ssm:`));
  return {
    ...base,
    service: 'ssm',
    name,
    arn: given ?? parameterArn(base.partition, base.region, base.account, name),
    operation,
    effect,
    versionStage: null,
    versionId: null,
  };
}
