"""``make chaos``: many work orders through the gateway while every process of the stack is SIGKILLed in
turn and comes back by supervision alone; then the books are checked (nothing lost, doubled or stuck).

* :mod:`scripts.chaos.client`  - the retrying client (same idempotency key, ``Retry-After``)
* :mod:`scripts.chaos.orders`  - one work order's flow, per billing plan
* :mod:`scripts.chaos.kills`   - SIGKILL a registry entry, time the supervisor's restart
* :mod:`scripts.chaos.checks`  - the invariants, read with SQL as the owner and from ``/metrics``
* :mod:`scripts.chaos.run`     - the run; :mod:`scripts.chaos.report` prints it
"""
