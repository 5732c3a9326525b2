"""The adaptive flash duration for practice: a 2-down/1-up staircase over fixed durations from
500 ms down to 40 ms.

Two correct answers in a row at a duration move one step shorter; a wrong answer moves one step
longer. This rule settles where the trainee is right about 71 % of the time (Levitt 1971). A
duration counts as *mastered* once the trainee has answered two trials in a row correctly at
it — the same event that moves the staircase down.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

#: practice durations in ms, longest first
LEVELS_MS: tuple[float, ...] = (500.0, 400.0, 300.0, 200.0, 150.0, 100.0, 80.0, 60.0, 40.0)


@dataclass
class Staircase:
    """State of a 2-down/1-up staircase; replay stored answers with :meth:`replay`."""

    levels: tuple[float, ...] = LEVELS_MS
    down: int = 2
    level: int = 0
    streak: int = 0
    mastered: set[float] = field(default_factory=set)

    @property
    def current_ms(self) -> float:
        return self.levels[self.level]

    def update(self, correct: bool) -> None:
        """Record one answer given at :attr:`current_ms`."""
        if correct:
            self.streak += 1
            if self.streak >= self.down:
                self.mastered.add(self.current_ms)
                self.level = min(self.level + 1, len(self.levels) - 1)
                self.streak = 0
        else:
            self.streak = 0
            self.level = max(self.level - 1, 0)

    @property
    def mastered_ms(self) -> float | None:
        """Shortest duration mastered so far, or None."""
        return min(self.mastered) if self.mastered else None

    @classmethod
    def replay(cls, correct: Iterable[bool], **kwargs) -> Staircase:
        s = cls(**kwargs)
        for c in correct:
            s.update(bool(c))
        return s
