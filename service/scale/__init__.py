"""Scale-out on Redis: one scheduler, many workers, the same results as one process.

Roles (``crisiswatch run --role scheduler | worker | all``):

- **scheduler** (:func:`service.scale.roles.run_scheduler`): holds the lease (:mod:`.lease`); while it
  does, it collects (``CollectionRunner`` with a sink that appends to the mention stream, fenced by
  the lease's token, :mod:`.stream`), runs the detection ticks, delivers alerts and trims the stream.
  Several schedulers may run: one is active, the others wait for the lease. Its writes of detector
  states, incidents and the outbox carry the lease's fencing token, checked inside Redis
  (:class:`service.store.redis.FencedOut`): a scheduler paused past its lease cannot write afterwards.
- **worker** (:func:`service.scale.roles.run_worker`): reads the stream in the consumer group,
  enriches, and adds each brand's mentions to its buckets in one atomic Lua script that also marks
  the mention ids as processed (:mod:`.worker`), then acknowledges. Delivery is at least once;
  counting is exactly once: a redelivered entry finds its ids marked and adds nothing. Entries left
  pending by a dead worker are taken over with ``XAUTOCLAIM``. Poison entries (that do not decode,
  fail ``max_failures`` times, or were delivered ``max_deliveries`` times without an acknowledgement)
  move to a dead-letter stream with their error, counted in ``/metrics`` and shown by ``/readyz``.
- every role serves ``/healthz``, ``/readyz``, ``/metrics`` and ``POST /v1/mentions`` (queued on the
  stream) on ``CRISISWATCH_LISTEN`` (:mod:`.http`).
- **all**: today's single process (the :class:`service.app.Service`), no stream.

Determinism: a tick evaluates buckets only once every stream entry added before the tick is
acknowledged (the *watermark*, :mod:`.ticker`), so alerts do not depend on how fast workers are.

Redis Cluster: every key carries a hash tag (:mod:`service.store.keys`). The stream, the lease and
the fencing counter share ``{stream}``, so the fenced ``XADD`` is one script on one slot; a brand's
buckets, day index and processed-id sets share ``{brand}``, so "mark as processed + add to buckets"
is one script on one slot. Nothing atomic ever spans two slots.
"""
