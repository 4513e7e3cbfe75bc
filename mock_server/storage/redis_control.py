"""What a tenant's servers share on Redis besides bookings: the clock, the fidelity settings (strict mode, response
profile), the fault rules, their budgets and dice.

Each server keeps a copy of the clock and the rules, so a request reads no Redis for them, with the generation and
epoch it copied. A change made through any server (a rule added, removed or used up, the clock frozen or moved, a
setting patched, a reset) is written whole with the generation bumped (`publish`), only if nobody else wrote since
this server's copy (else the change is refused, 503, and the copy reloaded). Every server compares generation and
epoch when a request starts (one MGET) and takes on the stored state when either moved (`sync`).

Budgets and dice are counted in Redis: a `times: 3` rule fires three times across all servers, and the n-th draw of
a rule is a hash of (seed, tenant, rule, n), the same whichever server makes it.

    <prefix>:{<tenant>}:gen      STRING  the generation (never reset: a reset is a change like another)
    <prefix>:{<tenant>}:control  HASH    clock, settings (FidelitySettings.export), rules (FaultEngine.export)
    <prefix>:{<tenant>}:fired    HASH    rule id -> uses spent
    <prefix>:{<tenant>}:seen     HASH    rule id -> draws made
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import orjson
import redis

from ..domain.errors import StoreFailed
from .redis_store import TenantKeys, claim_epoch, unavailable

if TYPE_CHECKING:
    from ..faults.engine import FaultEngine
    from ..faults.rules import Rule
    from ..runtime import Runtime

# One use of a rule's budget, or none when it is spent (the count is given back, so it reads `times` at most).
SPEND_LUA = """
local fired = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
if ARGV[2] ~= '' and fired > tonumber(ARGV[2]) then
  redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
  return false
end
return fired
"""


class SharedControl:
    """One tenant's clock, fidelity settings and fault rules, kept in step with every other server on the store."""

    def __init__(
        self, client: redis.Redis, keys: TenantKeys, runtime: Runtime, engine: FaultEngine, restart: Callable[[], None]
    ):
        self._client, self._keys, self._runtime, self._engine = client, keys, runtime, engine
        self._restart_rules = restart  # the rules as at start: none but MOCK_SCENARIO's
        self._spend = client.register_script(SPEND_LUA)
        self._seed = f"{runtime.seed}:{runtime.tenant}"
        self._generation: int | None = None
        # Held around every read-and-publish and every load, so a server's writes land in the order it made them
        # and a load never overwrites a change being published. Re-entrant: a load may publish.
        self._lock = threading.RLock()
        self._deferred: int | None = None  # inside `deferring`: publishes wait for its end (a reset: one publish)
        self._pending = False

    def attach(self) -> None:
        """Take on the stored state, or store this server's (the first to serve the tenant); then publish changes."""
        self._runtime.clock.on_change = self.publish
        self._runtime.fidelity.on_change = self.publish
        self._engine.on_change = self.publish
        self._engine.shared = self
        self.sync()

    def sync(self, counts: bool = False, claim: bool = True) -> bool:
        """Take on what other servers changed since the last look (and, with `counts`, every rule's uses spent).

        Without `claim` (a background task, not a request naming the tenant), a tenant no longer in the store (deleted
        through another server) is not started afresh there: False, nothing taken on.
        """
        try:
            pipe = self._client.pipeline(transaction=False)
            pipe.mget(self._keys.gen, self._keys.anchor)
            if counts:
                pipe.hgetall(self._keys.fired)
            found = pipe.execute()
        except redis.RedisError as exc:
            raise unavailable(exc) from None
        generation, epoch = found[0]
        moved = generation is None or int(generation) != self._generation
        if (moved or epoch is None or epoch.decode() != self._runtime.epoch) and not self._load(claim):
            return False
        if counts:
            self._engine.counted({k.decode(): int(v) for k, v in found[1].items()})
        return True

    def publish(self, asked: bool = True) -> None:
        """Store this server's clock and rules as the tenant's, a generation on. When another server wrote since
        this one's copy, the copy is reloaded at the next request and this change dropped: refused (503) if a client
        asked for it; if not (a rule used up or expired while serving), the other server's write stands."""
        with self._lock:
            if self._deferred is not None:
                self._pending = True
                return
            clock, rules = orjson.dumps(self._runtime.clock.export()), orjson.dumps(self._engine.export())
            settings = orjson.dumps(self._runtime.fidelity.export())
            try:
                with self._client.pipeline(transaction=True) as pipe:
                    pipe.watch(self._keys.gen)
                    stored = pipe.get(self._keys.gen)
                    if stored is not None and self._generation is not None and int(stored) != self._generation:
                        raise redis.WatchError
                    pipe.multi()
                    pipe.hset(self._keys.control, "clock", clock)
                    pipe.hset(self._keys.control, "rules", rules)
                    pipe.hset(self._keys.control, "settings", settings)
                    pipe.incr(self._keys.gen)
                    *_, self._generation = pipe.execute()
            except redis.WatchError:
                self._generation = None  # the next request reloads what the other server wrote
                if not asked:
                    return
                raise StoreFailed(
                    "another server changed this tenant's clock, settings or fault rules at the same moment; this "
                    "change was not made: try again"
                ) from None
            except redis.RedisError as exc:
                self._generation = None  # the next request reloads the stored state: this change is dropped
                raise unavailable(exc) from None

    @contextmanager
    def deferring(self, asked: bool = True) -> Iterator[None]:
        """Hold publishes until the block ends, then publish once (a reset changes the clock, settings and rules);
        on an error, publish nothing and reload at the next request. `asked`: as for `publish`."""
        with self._lock:
            if self._deferred is not None:  # inside another deferring block: its end publishes
                yield
                return
            self._deferred, self._pending = 0, False
            try:
                yield
            except BaseException:
                self._generation = None
                raise
            finally:
                self._deferred = None
            if self._pending:
                self.publish(asked)

    def expect(self, generation: int) -> None:
        """This server made the stored generation (a reset it ran): no reload needed."""
        self._generation = generation

    def forget(self, rule_ids: list[str] | None) -> None:
        """Clear the uses and draws counted for these rule ids (None: all): a new rule starts at none."""
        keys = self._keys
        try:
            if rule_ids is None:
                self._client.unlink(keys.fired, keys.seen)
            elif rule_ids:
                pipe = self._client.pipeline(transaction=True)
                pipe.hdel(keys.fired, *rule_ids)
                pipe.hdel(keys.seen, *rule_ids)
                pipe.execute()
        except redis.RedisError as exc:
            raise unavailable(exc) from None

    def spend(self, rule: Rule) -> int | None:
        """One use of the rule, counted for every server; None once they used it up."""
        times = "" if rule.times is None else str(rule.times)
        try:
            fired = self._spend(keys=[self._keys.fired], args=[rule.id, times])
        except redis.RedisError as exc:
            raise unavailable(exc) from None
        return None if fired is None else int(fired)

    def chance(self, rule: Rule) -> float:
        """The rule's next draw in [0, 1)."""
        try:
            n = self._client.hincrby(self._keys.seen, rule.id, 1)
        except redis.RedisError as exc:
            raise unavailable(exc) from None
        digest = hashlib.sha256(f"{self._seed}:{rule.id}:{n}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def between(self, rule: Rule, low: int, high: int) -> int:
        """The rule's next integer draw in [low, high]."""
        return low + min(int(self.chance(rule) * (high - low + 1)), high - low)

    def _load(self, claim: bool = True) -> bool:
        """Take on the stored epoch, clock and rules. Where none are stored (the first server, a Redis that lost its
        data, a tenant deleted elsewhere) the tenant starts afresh: a new epoch, the clock and rules as at start;
        without `claim`, it does not (False)."""
        keys = self._keys
        with self._lock:
            try:
                pipe = self._client.pipeline(transaction=True)
                pipe.get(keys.gen)
                pipe.hgetall(keys.control)
                pipe.get(keys.anchor)
                generation, control, epoch = pipe.execute()
                if epoch is None:
                    if not claim:
                        return False
                    epoch = claim_epoch(self._client, keys, self._runtime.anchor_sec).encode()
            except redis.RedisError as exc:
                raise unavailable(exc) from None
            if epoch.decode() != self._runtime.epoch:
                self._runtime.adopt_epoch(epoch.decode())  # another server's reset, or a start after a loss
            if b"clock" not in control or b"rules" not in control:
                self._generation = None if generation is None else int(generation)
                # No client asked for this start state: when another server stored one first (two workers meeting a
                # new tenant at once), theirs stands and is taken on at the next request; nothing fails to start.
                with self.deferring(asked=False):
                    self._runtime.clock.restart(frozen_at=self._runtime.settings.clock)
                    self._runtime.fidelity.restart()
                    self._restart_rules()
                    self._pending = True
                return True
            self._runtime.clock.load(orjson.loads(control[b"clock"]))
            # None (a store written before settings were shared): the defaults, until a server changes them.
            self._runtime.fidelity.load(orjson.loads(control[b"settings"]) if b"settings" in control else None)
            self._engine.load(orjson.loads(control[b"rules"]))
            self._generation = None if generation is None else int(generation)
            return True
