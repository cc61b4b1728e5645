"""moto_server, with the ECS that AWS shows and moto 5.2 does not. Used by
`startMoto({ ecs: true })` (the demo); everything else is moto unchanged.

- A task's createdAt and startedAt: each ECS task is stamped when RunTask (or a service) creates
  it, so that a task started after a rotation is seen as fresh, as it would be on AWS.
- A service created is one in steady state: its deployment COMPLETED (the seeder starts its
  tasks), where moto leaves it IN_PROGRESS.
- StopTask says who stopped it: stopCode UserInitiated and stoppedAt, as AWS does.
- A forced new deployment (UpdateService forceNewDeployment, or a new task definition) is a new
  PRIMARY deployment IN_PROGRESS ("ECS deployment ID in progress."); the one it replaces stays
  listed as ACTIVE. moto alone rewrites the one deployment's id and times and rolls nothing out.
- A rollout ends on cue, since moto runs no scheduler: TagResource on a service with the tag
  `moto:rollout` = COMPLETED or FAILED (optionally `moto:reason`, the rolloutStateReason, and
  `moto:stopped-reason`) sets its PRIMARY deployment's rolloutState, rolloutStateReason and
  updatedAt. COMPLETED drops the deployments it replaced, as ECS does once they drained. FAILED
  (the circuit breaker, no rollback) stops the deployment's tasks with stopCode
  TaskFailedToStart and the stopped reason; the deployments it replaced keep serving. The moto:*
  tags are removed at once: DescribeServices and ListTagsForResource never show them.

    python moto-ecs.py -H 127.0.0.1 -p PORT   (the arguments of moto_server)
"""

import sys

import moto.ecs.models as ecs
from moto.core.utils import utcnow
from moto.moto_api._internal import mock_random
from moto.server import main

Backend = ecs.EC2ContainerServiceBackend

# -- task times --------------------------------------------------------------------------------

_create_task = ecs.Task.__init__


def _stamped(self, *args, **kwargs):
    _create_task(self, *args, **kwargs)
    # Read by moto's response serializer as the shape's createdAt and startedAt (snake_case).
    self.created_at = utcnow()
    self.started_at = self.created_at


ecs.Task.__init__ = _stamped

# -- CreateService: a service that runs ---------------------------------------------------------

_create_service = ecs.Service.__init__


def _running(self, *args, **kwargs):
    _create_service(self, *args, **kwargs)
    # The seeder starts a service's tasks right after creating it, standing for a service long
    # in steady state: its deployment is COMPLETED, not moto's IN_PROGRESS for ever.
    for deployment in self.deployments:
        deployment.update(
            {
                "rolloutState": "COMPLETED",
                "rolloutStateReason": f"ECS deployment {deployment['id']} completed.",
                "runningCount": self.desired_count,
                "pendingCount": 0,
            }
        )


ecs.Service.__init__ = _running

# -- StopTask: who stopped it, and when ----------------------------------------------------------

_stop_task = Backend.stop_task


def _stop_task_as_aws(self, cluster_str, task_str, reason):
    task = _stop_task(self, cluster_str, task_str, reason)
    if not getattr(task, "stop_code", None):
        task.stop_code = "UserInitiated"
        task.stopped_at = utcnow()
        task.stopping_at = task.stopped_at
    return task


Backend.stop_task = _stop_task_as_aws

# -- UpdateService: a new deployment, in progress ----------------------------------------------

_update_service = Backend.update_service


def _update_service_as_aws(self, service_properties):
    cluster_str = service_properties.get("cluster", "default")
    name = (service_properties.get("service") or "").split("/")[-1]
    forced = bool(service_properties.get("force_new_deployment"))
    task_definition = service_properties.get("task_definition")
    try:
        before = self._get_service(cluster_str, name)
        previous = [dict(d) for d in before.deployments]
        previous_definition = before.task_definition
    except Exception:
        previous, previous_definition = [], None
    service = _update_service(self, service_properties)
    new_definition = task_definition and service.task_definition != previous_definition
    if not (forced or new_definition) or not previous or not service.deployments:
        return service
    # moto rewrote deployments[0] in place (id, createdAt, updatedAt); make it a new rollout.
    deployment = service.deployments[0]
    if deployment["id"] == previous[0]["id"]:
        deployment["id"] = f"ecs-svc/{mock_random.randint(0, 32**12)}"
        deployment["createdAt"] = deployment["updatedAt"] = utcnow()
    deployment.update(
        {
            "status": "PRIMARY",
            "taskDefinition": service.task_definition,
            "desiredCount": service.desired_count,
            "pendingCount": service.desired_count,
            "runningCount": 0,
            "failedTasks": 0,
            "rolloutState": "IN_PROGRESS",
            "rolloutStateReason": f"ECS deployment {deployment['id']} in progress.",
        }
    )
    replaced = [dict(d, status="ACTIVE") for d in previous]
    service.deployments = [deployment, *replaced]
    return service


Backend.update_service = _update_service_as_aws

# -- the cue: TagResource moto:rollout ---------------------------------------------------------

_tag_resource = Backend.tag_resource

CUE = "moto:rollout"


def _tag_resource_with_cue(self, resource_arn, tags):
    cue = {tag["key"]: tag["value"] for tag in tags or [] if tag["key"].startswith("moto:")}
    _tag_resource(self, resource_arn, tags)
    if not cue:
        return
    resource = self._get_resource(resource_arn, self._parse_resource_arn(resource_arn))
    resource.tags = [tag for tag in resource.tags if not tag["key"].startswith("moto:")]
    state = cue.get(CUE)
    if state is None:
        return
    if state not in ("COMPLETED", "FAILED") or not isinstance(resource, ecs.Service):
        raise ecs.InvalidParameterException(
            f"{CUE} must be COMPLETED or FAILED, on a service (got {state!r})"
        )
    end_rollout(self, resource, state, cue.get("moto:reason"), cue.get("moto:stopped-reason"))


def end_rollout(backend, service, state, reason, stopped_reason):
    primary = next(
        (d for d in service.deployments if d.get("status") == "PRIMARY"),
        service.deployments[0] if service.deployments else None,
    )
    if primary is None:
        raise ecs.InvalidParameterException(f"service {service.name} has no deployment")
    now = utcnow()
    tasks = [
        task
        for task in backend.tasks.get(service.cluster_name, {}).values()
        if task.started_by == primary["id"] and task.desired_status == "RUNNING"
    ]
    if state == "COMPLETED":
        primary["rolloutStateReason"] = reason or f"ECS deployment {primary['id']} completed."
        primary["runningCount"] = len(tasks)
        primary["pendingCount"] = 0
        # The deployments it replaced drained: ECS lists them no more.
        service.deployments = [primary]
    else:
        primary["rolloutStateReason"] = (
            reason or "ECS deployment circuit breaker: tasks failed to start."
        )
        for task in tasks:
            task.last_status = "STOPPED"
            task.desired_status = "STOPPED"
            task.stop_code = "TaskFailedToStart"
            task.stopped_reason = stopped_reason or "Task failed to start"
            task.stopping_at = task.stopped_at = now
        primary["failedTasks"] = primary.get("failedTasks", 0) + len(tasks)
        primary["runningCount"] = 0
    primary["rolloutState"] = state
    primary["updatedAt"] = now


Backend.tag_resource = _tag_resource_with_cue

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
