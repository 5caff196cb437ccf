"""The services itas needs (PostgreSQL, Redis): embedded ones it can start, or external ones
it is pointed at. See :mod:`scheduler.services.manager` for ``itas services``."""
