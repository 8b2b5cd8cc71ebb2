"""Operations (issue 17): every service's operational data on ``/v1/ops/<service>/…``.

* :mod:`shared.ops.repository` — the SQL over the messaging tables every schema has (outbox, inbox,
  parked and unsendable messages) and the audit of ops writes (``ops_actions``);
* :mod:`shared.ops.handlers` — the use cases: outbox backlog, dead letters (list, show, replay,
  discard), a work order's story;
* :mod:`shared.ops.operators` — what touches Kafka: consumer lag, and replay/discard through the
  service's own parking mechanisms (:class:`~shared.messaging.consumer.ConsumerRunner` and
  :func:`~shared.messaging.relay.replay_unsendable`);
* :mod:`shared.ops.api` — the router factory :func:`~shared.ops.api.ops_router` that
  :class:`shared.runtime.ServiceDefinition` mounts in every service, and the caller check (a studio
  admin with an ops capability, or the service token).
"""
