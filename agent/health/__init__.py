"""The agent's health: a status board the service updates, served on a Unix socket.

``board``   :class:`StatusBoard`: what the service tells, plus facts read from disk
``facts``   the cheap disk reads (ship backlog, newest vault checkpoint, journal writes)
``metrics`` the status as Prometheus text
``server``  :func:`start_health`: ``<home>/run/agent.sock`` and ``<home>/run/status.json``
``client``  what ``sessiontape status`` asks: the socket, else the status file
``listen``  ``agent.metrics_listen`` parsing (loopback only unless configured)
"""
