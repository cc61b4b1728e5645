"""moto_server, with one thing AWS always returns and moto 5.2 does not: a task's createdAt and
startedAt. Each ECS task is stamped when RunTask (or a service) creates it, as AWS does; the rest
is moto unchanged. Used by `startMoto({ taskTimes: true })` (the demo), so that a task started
after a rotation is seen as fresh, as it would be on AWS.

    python moto-task-times.py -H 127.0.0.1 -p PORT   (the arguments of moto_server)
"""

import sys

import moto.ecs.models as ecs
from moto.core.utils import utcnow
from moto.server import main

_create = ecs.Task.__init__


def _stamped(self, *args, **kwargs):
    _create(self, *args, **kwargs)
    # Read by moto's response serializer as the shape's createdAt and startedAt.
    self.created_at = utcnow()
    self.started_at = self.created_at


ecs.Task.__init__ = _stamped

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
