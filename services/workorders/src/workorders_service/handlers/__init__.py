"""Use cases of the work-orders service, one module each: a command and ``verb_noun(uow, command)``.

The HTTP routes (``api.py``) and the Kafka subscribers (``consumers.py``) call these; every state change
and the events it causes are written in the caller's transaction (outbox); only the unit of work commits.
"""
