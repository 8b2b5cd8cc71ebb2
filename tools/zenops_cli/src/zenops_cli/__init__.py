"""``zenops``: the ops command line over the gateway's ``/v1/ops/<service>/…`` routes (issue 17)."""
