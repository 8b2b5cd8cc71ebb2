"""Use cases of the evidence service, one module each: a command and ``verb_noun(uow, command)``.

HTTP routes and Kafka subscribers call these inside their unit of work; only the unit of work commits.
:mod:`evidence_service.handlers.state` holds what the use cases share (reading and publishing the
evidence state of a work order).
"""
