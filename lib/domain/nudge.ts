/**
 * What AWS said of a restart the watcher may have made: an ECS service deployment or a Batch
 * job changed state. Never acted on as it stands (events come late, twice and out of order): it
 * only says which staged restarts to look at again now, and keeps AWS's own words for a halt.
 */
export type Nudge =
  | {
      kind: 'ecs-deployment';
      /** The service's ARN (the event's `resources[0]`). */
      service: string;
      deploymentId: string;
      /** SERVICE_DEPLOYMENT_COMPLETED, SERVICE_DEPLOYMENT_FAILED or SERVICE_DEPLOYMENT_IN_PROGRESS. */
      eventName: string;
      /** ECS's `reason`, such as `ECS deployment circuit breaker: task failed to start.` */
      reason: string | null;
      /** The event's time. */
      at: string;
    }
  | {
      kind: 'batch-job';
      jobId: string;
      jobArn: string | null;
      /** SUBMITTED … RUNNING, SUCCEEDED, FAILED. */
      status: string;
      statusReason: string | null;
      at: string;
    };
