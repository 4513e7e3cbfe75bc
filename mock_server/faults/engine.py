"""The fault engine: rules, matching, budgets, probability, TTL and the decision (no Flask here)."""

from __future__ import annotations

import dataclasses
import random
import threading
from collections import deque
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from .rules import COMMIT_KINDS, GUARDED_KINDS, Rule, build_rule, cap_errors

RETIRED_KEPT = 100


@dataclass(frozen=True, slots=True)
class Effect:
    """One fault applied to one exchange: which rule, what kind, with its parameters resolved."""

    rule_id: str  # "magic" for a magic value in the request
    kind: str
    params: dict = field(default_factory=dict)
    match: dict = field(default_factory=dict)
    seq: int = 1  # the rule's n-th firing


@dataclass(frozen=True, slots=True)
class Decision:
    """What happens to one exchange: an optional delay, then an optional outcome."""

    delay: Effect | None = None
    outcome: Effect | None = None

    @property
    def effects(self) -> list[Effect]:
        """Delay first, then the outcome."""
        return [e for e in (self.delay, self.outcome) if e is not None]


class Facts(Protocol):
    """What the engine may ask about a request (computed lazily by the caller)."""

    def get(self, key: str) -> frozenset:
        """The values of a match key (merchant_id, service_id, user_id, booking_id) in the request."""

    def admits(self, kind: str) -> bool:
        """For a GUARDED_KINDS kind: True when a fault of it keeps its contract on this request (see rules.py)."""


class RuleError(ValueError):
    """A rule the engine refuses; `errors` maps field names to messages."""

    def __init__(self, errors: dict):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class DuplicateRule(RuleError):
    """A rule id that is already taken."""


class SharedCounters(Protocol):
    """A shared store's side of the engine: rule budgets and dice that every process serving the tenant shares."""

    def spend(self, rule: Rule) -> int | None:
        """Spend one use of the rule: its fired count now, or None when other processes used it up."""
        ...

    def chance(self, rule: Rule) -> float:
        """The rule's next draw in [0, 1), the same whichever process serves the call."""
        ...

    def between(self, rule: Rule, low: int, high: int) -> int:
        """The rule's next integer draw in [low, high]."""
        ...

    def forget(self, rule_ids: list[str] | None) -> None:
        """Clear what was counted for these rule ids (None: every rule): a rule added under an old id starts anew."""
        ...


class FaultEngine:
    """Active rules of one app; every counter changes under one lock."""

    def __init__(self, max_hold_ms: int):
        self.max_hold_ms = max_hold_ms
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._rules: list[Rule] = []
        self._retired: deque = deque(maxlen=RETIRED_KEPT)
        self._next_id = 1
        # With a shared store (MOCK_STORE on Redis): told after every change of the rules (to publish them), and
        # the budgets and dice shared by every process. None: this process alone, its own counters and the rng.
        self.on_change: Callable[[bool], None] | None = None  # told whether a client asked for the change
        self.shared: SharedCounters | None = None
        self._dirty = False  # the rules changed (a rule used up or expired while serving, too)
        self._asked = False  # ... because a client asked (add, remove, clear, reset)

    @property
    def active(self) -> bool:
        """True while any rule exists (read without the lock: the fast path of every request)."""
        return bool(self._rules)

    def concerns(self, method: str) -> bool:
        """True when a rule may apply to this method, or must be looked at to expire (read without the lock).

        A request to a method no rule names skips the decision entirely: an unrelated armed rule costs nothing.
        """
        return any(rule.expires_at_sec is not None or rule.applies_to(method) for rule in list(self._rules))

    # ---- rules ----

    def add(self, data: dict, now: int, source: str = "api") -> Rule:
        """Add a rule from RuleSchema-loaded data; RuleError if a hold is too long or the id is taken."""
        return self.add_all([data], now, source)[0]

    def add_all(self, datas: list[dict], now: int, source: str = "api") -> list[Rule]:
        """Add several rules, all or none (a scenario)."""
        for data in datas:
            errors = cap_errors(data, self.max_hold_ms)
            if errors:
                raise RuleError(errors)
        with self._changing():
            taken = {r.id for r in self._rules}
            wanted = [d["id"] for d in datas if d.get("id")]
            for rule_id in wanted:
                if rule_id in taken or wanted.count(rule_id) > 1:
                    raise DuplicateRule({"id": [f"a rule with id {rule_id!r} exists; delete it first"]})
            taken.update(wanted)
            added = []
            for data in datas:
                rule_id = data.get("id")
                while rule_id is None or (rule_id in taken and not data.get("id")):
                    rule_id = f"f{self._next_id}"
                    self._next_id += 1
                taken.add(rule_id)
                added.append(build_rule(data, rule_id, now, source))
            if self.shared is not None:
                self.shared.forget([rule.id for rule in added])
            self._rules.extend(added)
            self._dirty = self._asked = True
            return added

    def remove(self, rule_id: str) -> Rule | None:
        """Remove one rule; None when there is no such rule."""
        with self._changing():
            for rule in self._rules:
                if rule.id == rule_id:
                    self._rules.remove(rule)
                    self._dirty = self._asked = True
                    return rule
        return None

    def clear(self) -> int:
        """Remove every active rule; how many there were."""
        with self._changing():
            count = len(self._rules)
            self._rules = []
            self._dirty = self._asked = True
            return count

    def reset(self) -> None:
        """Forget everything, ids included (the sandbox reset)."""
        with self._changing():
            if self.shared is not None:
                self.shared.forget(None)
            self._rules = []
            self._retired.clear()
            self._next_id = 1
            self._dirty = self._asked = True

    def rules(self, now: int) -> list[dict]:
        """Active rules (expired ones retired first), as the admin API shows them."""
        with self._changing():
            self._expire(now)
            return [r.describe() for r in self._rules]

    def retired(self) -> list[dict]:
        """The most recently retired rules, oldest first, with why they retired."""
        with self._lock:
            return list(self._retired)

    # ---- the decision ----

    def decide(self, method: str, facts: Facts, rng: random.Random, now: int) -> Decision | None:
        """Before the view: fire at most one delay rule and one outcome rule (first match each, in the order added).

        Kinds decided once the view has committed (COMMIT_KINDS) are left for `decide_committed`.
        """
        if not self._rules:
            return None
        with self._changing():
            self._expire(now)
            delay = outcome = None
            for rule in list(self._rules):
                is_delay = rule.kind == "delay"
                if (delay if is_delay else outcome) is not None or rule.kind in COMMIT_KINDS:
                    continue
                effect = self._try(rule, method, facts, rng)
                if effect is None:
                    continue
                if is_delay:
                    delay = effect
                else:
                    outcome = effect
                if delay is not None and outcome is not None:
                    break
        if delay is None and outcome is None:
            return None
        return Decision(delay, outcome)

    def decide_committed(self, method: str, facts: Facts, rng: random.Random, now: int) -> Effect | None:
        """After a view that committed a change and had no other outcome: the first matching COMMIT_KINDS rule."""
        if not self._rules:
            return None
        with self._changing():
            self._expire(now)
            for rule in list(self._rules):
                if rule.kind in COMMIT_KINDS:
                    effect = self._try(rule, method, facts, rng)
                    if effect is not None:
                        return effect
        return None

    def watches_commits(self, method: str) -> bool:
        """True when a rule may fire once this method's view has committed (read without the lock, like active)."""
        return any(rule.kind in COMMIT_KINDS and rule.applies_to(method) for rule in list(self._rules))

    def _try(self, rule: Rule, method: str, facts: Facts, rng: random.Random) -> Effect | None:
        """Fire the rule if it applies to this request; nothing is drawn or spent for one that does not."""
        if not rule.applies_to(method) or not self._matches(rule, facts):
            return None
        # Drawn only for a rule that matched, so unrelated traffic never moves the sequence.
        if rule.probability < 1.0:
            draw = rng.random() if self.shared is None else self.shared.chance(rule)
            if not draw < rule.probability:
                return None
        return self._fire(rule, rng)

    @staticmethod
    def _matches(rule: Rule, facts: Facts) -> bool:
        for key, value in rule.match.items():
            if value not in facts.get(key):
                return False
        return rule.kind not in GUARDED_KINDS or facts.admits(rule.kind)

    def _fire(self, rule: Rule, rng: random.Random) -> Effect | None:
        if self.shared is None:
            rule.fired += 1
        else:
            fired = self.shared.spend(rule)
            if fired is None:  # other processes spent its last use
                self._retire(rule, "used_up")
                return None
            rule.fired = fired
        params = dict(rule.params)
        if rule.kind == "delay" and "delay_ms" not in params:
            low, high = params.pop("min_ms"), params.pop("max_ms")
            params = {
                "delay_ms": rng.randint(low, high) if self.shared is None else self.shared.between(rule, low, high)
            }
        if rule.times is not None and rule.fired >= rule.times:
            self._retire(rule, "used_up")
        return Effect(rule.id, rule.kind, params, rule.match, rule.fired)

    def _expire(self, now: int) -> None:
        for rule in [r for r in self._rules if r.expires_at_sec is not None and now >= r.expires_at_sec]:
            self._retire(rule, "expired")

    def _retire(self, rule: Rule, reason: str) -> None:
        self._rules.remove(rule)
        self._retired.append({**rule.describe(), "retired": reason})
        self._dirty = True

    # ---- a shared store's copy ----

    def export(self) -> dict:
        """The rules, the retired ones and the next id, as another process rebuilds them (`load`)."""
        with self._lock:
            return {
                "rules": [dataclasses.asdict(rule) for rule in self._rules],
                "retired": list(self._retired),
                "next_id": self._next_id,
            }

    def load(self, exported: dict) -> None:
        """Take on another process's rules (its `export()`); not a change of this one's, so nobody is told."""
        with self._lock:
            self._rules = [Rule(**rule) for rule in exported["rules"]]
            self._retired = deque(exported["retired"], maxlen=RETIRED_KEPT)
            self._next_id = exported["next_id"]

    def counted(self, fired: dict[str, int]) -> None:
        """The fired counts every process spent (a shared store's), for the rules listing."""
        with self._lock:
            for rule in self._rules:
                rule.fired = fired.get(rule.id, rule.fired)

    @contextmanager
    def _changing(self):
        """The lock; once released, `on_change` is told if the rules changed under it, and whether a client asked."""
        with self._lock:
            yield
            dirty, asked, self._dirty, self._asked = self._dirty, self._asked, False, False
        if dirty and self.on_change is not None:
            self.on_change(asked)

    # ---- holding requests ----

    def hold(self, ms: int) -> bool:
        """Wait `ms` (capped at MOCK_TIMEOUT_MS) without any lock held; True if the server stopped meanwhile."""
        seconds = max(0, min(int(ms), self.max_hold_ms)) / 1000
        return self._stopping.wait(seconds) if seconds else self._stopping.is_set()

    def stop(self) -> None:
        """Release every held request now, and hold none from here on (the server is stopping)."""
        self._stopping.set()
