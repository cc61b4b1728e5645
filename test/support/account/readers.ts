// An account whose services all read one parameter changed at `changedAt`, each with its own
// task count, tags and deployment script: what the staged-restart tests, their property test
// and `npm run wave-cost` start from.
import {
  type DeploymentScript,
  emptyAccount,
  type ScriptedAccount,
  type ScriptedService,
  type ScriptedTask,
} from './model.js';

const MINUTE = 60_000;

export interface Reader {
  name: string;
  /** Its running tasks, all created an hour before the change (so all stale). */
  tasks: number;
  /** What its next deployment does (see DeploymentScript). */
  onDeploy: DeploymentScript;
  /** Tags besides `rotation-watcher:action=redeploy`. */
  tags?: Record<string, string>;
}

/**
 * One cluster `prod`, the parameter `name` (version 2, changed at `changedAt`), a task definition
 * `app:1` reading it, and one service per reader tagged redeploy, its first deployment COMPLETED
 * an hour before the change; the account's clock at `now`.
 */
export function parameterReaders(
  name: string,
  changedAt: number,
  readers: Reader[],
  now = changedAt + MINUTE,
): ScriptedAccount {
  const a = emptyAccount(now);
  a.clusters = ['prod'];
  a.parameters = [{ name, version: 2, lastModified: changedAt }];
  a.taskDefinitions = [
    { family: 'app', revision: 1, secrets: [{ name: 'VALUE', valueFrom: name }] },
  ];
  a.services = readers.map(
    (r): ScriptedService => ({
      cluster: 'prod',
      name: r.name,
      status: 'ACTIVE',
      desiredCount: r.tasks,
      tags: { 'rotation-watcher:action': 'redeploy', ...r.tags },
      onDeploy: r.onDeploy,
      deployments: [
        {
          id: `ecs-svc/${r.name}-0`,
          status: 'PRIMARY',
          rolloutState: 'COMPLETED',
          createdAt: changedAt - 60 * MINUTE,
          updatedAt: changedAt - 50 * MINUTE,
          taskDefinition: 'app:1',
        },
      ],
    }),
  );
  a.tasks = readers.flatMap((r) =>
    Array.from(
      { length: r.tasks },
      (_, k): ScriptedTask => ({
        cluster: 'prod',
        id: `${r.name}-old-${k}`,
        taskDefinition: 'app:1',
        group: `service:${r.name}`,
        startedBy: `ecs-svc/${r.name}-0`,
        createdAt: changedAt - 60 * MINUTE,
        startedAt: changedAt - 59 * MINUTE,
        lastStatus: 'RUNNING',
        desiredStatus: 'RUNNING',
      }),
    ),
  );
  return a;
}
