"""Use cases of the factory, one module each: a command and ``async def verb_noun(uow, command)``.

HTTP routes (``api.py``) and Kafka subscribers (``consumers.py``) build the command and call these.
"""
