"""The conversation an architecture answers, and the chat messages each technique sends.

A question is one or more user turns (MT-Bench has two). An architecture answers turn by turn:
turn *t* sees the earlier user turns with the architecture's own final answers to them, then the
current turn — the *query*. Archon builds every call the same way, and so does this module:

- a generator sends the conversation as it is: the system prompt (the benchmark's, else
  Archon's default assistant prompt), the earlier turns, the query;
- every other technique sends its own system prompt, the earlier turns, and one user message
  of its own that quotes the query (Archon's ``conversation[:-1]`` plus the technique prompt);
- ``no_system`` drops the system message, as Archon's generator does;
- once a unit-test generator has written tests, the query carries them, appended as Archon
  appends them, so that every later component sees them.

Messages are ``(role, content)`` pairs: hashable, ordered, and what the cache key reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

#: Archon's default system prompt (``Archon.generate`` adds it when a conversation has none).
DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant."
#: Joins the unit tests to the query (Archon appends them to the last user message).
UNIT_TESTS_HEADER = "A good response to this request passes the following unit tests:"

Messages = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Conversation:
    """What an architecture answers at one turn.

    ``history`` holds the earlier (user turn, the architecture's final answer) pairs; ``query``
    is the current user turn as the benchmark framed it; ``unit_tests`` are those a
    unit-test generator of an earlier layer wrote for it.
    """

    query: str
    system: str | None = None
    history: tuple[tuple[str, str], ...] = ()
    unit_tests: tuple[str, ...] = ()

    def with_unit_tests(self, tests: Sequence[str]) -> Conversation:
        return replace(self, unit_tests=tuple(tests))

    def query_text(self, *, with_unit_tests: bool = True) -> str:
        """The query as later components see it: with the unit tests appended, unless asked
        not to (Archon's ``remove_unit_tests_from_prompt``)."""
        if not self.unit_tests or not with_unit_tests:
            return self.query
        listed = "\n".join(f"- {test}" for test in self.unit_tests)
        return f"{self.query.rstrip()}\n\n{UNIT_TESTS_HEADER}\n{listed}"

    def _history(self) -> list[tuple[str, str]]:
        messages: list[tuple[str, str]] = []
        for user, assistant in self.history:
            messages += [("user", user), ("assistant", assistant)]
        return messages

    def as_is(self, *, no_system: bool = False) -> Messages:
        """The generator's messages: the conversation itself."""
        system = [] if no_system else [("system", self.system or DEFAULT_SYSTEM_PROMPT)]
        return tuple(system + self._history() + [("user", self.query_text())])

    def asking(self, system_prompt: str, prompt: str, *, no_system: bool = False) -> Messages:
        """A technique's messages: its own system prompt, the earlier turns, its prompt."""
        system = [] if no_system else [("system", system_prompt)]
        return tuple(system + self._history() + [("user", prompt)])
