"""The one exception hierarchy of itas.

    ItasError
    ├── UserError                 bad input from a person: the CLI prints it on one line, exits 2
    │   ├── ConfigError           a setting, an environment variable or a config file is wrong
    │   └── InvalidArchitecture   an architecture file breaks the rules (later issues)
    ├── ServiceUnavailable        PostgreSQL, Redis or the broker does not answer
    └── EmbeddedServiceError      an embedded PostgreSQL/Redis could not be started or stopped

Lower-level errors (pydantic, psycopg, redis-py, subprocess) are translated into these at exactly
one boundary each, with `raise Mapped(...) from exc`, so callers never catch library types.
"""

from __future__ import annotations


class ItasError(Exception):
    """Root of every error itas raises on purpose."""


class UserError(ItasError):
    """Something a person gave us is wrong; the message says what and where."""


class ConfigError(UserError):
    """A setting is malformed or missing. The message names the variable or file."""


class InvalidArchitecture(UserError):
    """An architecture breaks a rule; the message names layer, component and field."""


class ServiceUnavailable(ItasError):
    """A service the command needs (PostgreSQL, Redis) does not answer.

    The message says which service, at which address, and how to start it.
    """


class EmbeddedServiceError(ItasError):
    """An embedded PostgreSQL or Redis could not be started or stopped."""
