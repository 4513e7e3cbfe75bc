"""Booking state on Redis (MOCK_STORE=redis://...): several processes and hosts serve one sandbox.

The inventory is immutable and the same in every process (the fixture materialised on the tenant's anchor day, which
is kept here), so it stays in process memory; only what changes lives in Redis, under one hash tag per tenant (its
keys stay in one cluster slot): `<prefix>:{<tenant>}:`

    anchor    STRING  the epoch: `<anchor second>:<nonce>`, the day the tenant's inventory is materialised on (set by
                      the first process to serve it, anew by each reset; a change checks it is still the same)
    users     SET     every user with a booking set (what a reset deletes)
    gen, control, fired, seen       the clock and fault rules every server shares (storage/redis_control.py)
    taken     HASH    slot key -> spots held by active bookings (absent: none)
    bookings  HASH    booking id -> booking JSON (persistence's encoding)
    tokens    HASH    idempotency token -> {"fingerprint", "booking"}: the first answer
    claims    HASH    user-slot key -> active bookings of that user on that start
    user:<id> SET     the user's booking ids
    seq       STRING  the last booking number given (B0000001 is 1)
    active    STRING  how many bookings hold a spot
    marketing HASH    user id -> the user's marketing preference JSON (SetMarketingPreference; marketing.lua)
    waitlist  HASH    waitlist entry id -> entry JSON (W0000001 is the first; waitlist.lua)
    wtokens   HASH    CreateWaitlistEntry idempotency token -> {"fingerprint", "entry_id"}

A change is one Lua script (commit.lua): it checks that what the rules read still holds, then writes everything the
change makes, or nothing. A reset is one script too (reset.lua); a state snapshot's restore (PUT /_admin/state) is that
script and the writes of the whole saved state in one MULTI/EXEC (`restore_tenant`).
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from pathlib import Path

import orjson
import redis

from ..domain.errors import StoreFailed
from ..domain.inventory import Inventory
from ..domain.models import Booking, MarketingPreference, Slot
from ..domain.state import (
    BookingListener,
    Change,
    IdempotencyRecord,
    MemoryState,
    StateContent,
    UserSlotKey,
    user_slot_key,
)
from ..domain.waitlist import WaitlistChange, WaitlistEntry, WaitlistRecord
from .persistence import (
    decode_booking,
    decode_entry,
    decode_preference,
    decode_record,
    encode_booking,
    encode_entry,
    encode_preference,
    slot_fields,
)

COMMIT_LUA = Path(__file__).with_name("commit.lua").read_text()
RESET_LUA = Path(__file__).with_name("reset.lua").read_text()
MARKETING_LUA = Path(__file__).with_name("marketing.lua").read_text()
WAITLIST_LUA = Path(__file__).with_name("waitlist.lua").read_text()
# A tenant's booking state (and its waitlist entries).
KEYS = ("bookings", "tokens", "taken", "claims", "seq", "active", "users", "marketing", "waitlist", "wtokens")
CONTROL_KEYS = ("control", "fired", "seen")  # its clock and fault rules (storage/redis_control.py)
JOURNAL_KEYS = ("journal", "jseq")  # its exchanges (storage/redis_journal.py): a reset keeps them, a deletion not
CONNECT_TIMEOUT_S = 2.0
_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()


def client_for(url: str) -> redis.Redis:
    """This process's client of the store at `url` (one connection pool, shared by every tenant and thread)."""
    with _clients_lock:
        found = _clients.get(url)
        if found is None:
            found = _clients[url] = redis.Redis.from_url(
                url, socket_timeout=CONNECT_TIMEOUT_S, socket_connect_timeout=CONNECT_TIMEOUT_S
            )
        return found


def slot_key(slot: Slot) -> bytes:
    """An inventory entry's name in Redis: its identifying fields, as persistence's `held` names them."""
    return orjson.dumps(slot_fields(slot))


def _hold_triples(slots: Iterable[Slot]) -> list[bytes | int]:
    """commit.lua's (slot key, start, end) of each entry whose holds may take a spot of the entry taken from."""
    return [value for s in slots for value in (slot_key(s), s.start_sec, s.start_sec + s.duration_sec)]


def claim_key(key: UserSlotKey) -> bytes:
    """A user-slot claim's name in Redis."""
    return orjson.dumps(key)


class TenantKeys:
    """The names of one tenant's keys."""

    def __init__(self, prefix: str, tenant: str):
        self.prefix = prefix
        self.tag = f"{prefix}:{{{tenant}}}:"
        self.anchor = self.tag + "anchor"
        self.gen = self.tag + "gen"
        (
            self.bookings,
            self.tokens,
            self.taken,
            self.claims,
            self.seq,
            self.active,
            self.users,
            self.marketing,
            self.waitlist,
            self.wtokens,
        ) = (self.tag + k for k in KEYS)
        self.control, self.fired, self.seen = (self.tag + k for k in CONTROL_KEYS)

    def user(self, user_id: str) -> str:
        """The set of a user's booking ids."""
        return f"{self.tag}user:{user_id}"


def unavailable(exc: redis.RedisError) -> StoreFailed:
    """What a request answers while Redis cannot be reached (503): nothing was changed."""
    return StoreFailed(f"the Redis store (MOCK_STORE) cannot be reached: {exc}; nothing was changed")


def new_epoch(anchor_sec: int) -> str:
    """A tenant's epoch as stored: its anchor day, and a nonce that tells one reset from the next on the same day."""
    return f"{anchor_sec}:{secrets.token_hex(4)}"


def anchor_of(epoch: str | bytes) -> int:
    """The anchor second of an epoch."""
    text = epoch.decode() if isinstance(epoch, bytes) else epoch
    return int(text.partition(":")[0])


def claim_epoch(client: redis.Redis, keys: TenantKeys, anchor_sec: int) -> str:
    """The tenant's epoch: the one stored by the first process to serve it, else a new one on `anchor_sec`."""
    try:
        client.set(keys.anchor, new_epoch(anchor_sec), nx=True)
        stored = client.get(keys.anchor)
    except redis.RedisError as exc:
        raise unavailable(exc) from None
    if stored is None:  # deleted between the two commands: claim again
        return claim_epoch(client, keys, anchor_sec)
    return stored if isinstance(stored, str) else stored.decode()


def reset_tenant(client: redis.Redis, keys: TenantKeys, epoch: str | None) -> tuple[bool, int]:
    """Forget the tenant's bookings, tokens, counters and rules, and start the new epoch, in one step that every
    server sees next; with no epoch, forget the tenant whole (DELETE /_admin/tenants/<name>).

    Whether it existed, and the generation the step made (see storage/redis_control.py).
    """
    state = [keys.users, *(keys.tag + k for k in KEYS if k != "users"), *(keys.tag + k for k in CONTROL_KEYS)]
    if epoch is None:
        state += [keys.tag + k for k in JOURNAL_KEYS]
    try:
        had = client.exists(keys.anchor)
        generation = client.eval(RESET_LUA, len(state) + 2, *state, keys.gen, keys.anchor, keys.tag, epoch or "")
    except redis.RedisError as exc:
        raise unavailable(exc) from None
    return bool(had), int(generation)


def restore_tenant(
    client: redis.Redis, keys: TenantKeys, epoch: str, saved: MemoryState, control: dict[str, bytes], fired: dict
) -> int:
    """Replace the tenant's state with `saved` (a state snapshot, restored in memory first, which derives the spots
    taken and the claims), its clock and rules with `control` and their uses with `fired`, under a new epoch: one
    MULTI/EXEC holding the reset's script and the writes, so every other server sees the old state or the new one.

    The generation the step made (see storage/redis_control.py).
    """
    content = saved.content()
    taken, claims = saved.held()
    state = [keys.users, *(keys.tag + k for k in KEYS if k != "users"), *(keys.tag + k for k in CONTROL_KEYS)]
    by_user: dict[str, list[str]] = {}
    for booking in content.bookings:
        by_user.setdefault(booking.user.user_id, []).append(booking.booking_id)
    try:
        with client.pipeline(transaction=True) as pipe:
            pipe.eval(RESET_LUA, len(state) + 2, *state, keys.gen, keys.anchor, keys.tag, epoch)
            if content.bookings:
                bookings = {b.booking_id: orjson.dumps(encode_booking(b)) for b in content.bookings}
                pipe.hset(keys.bookings, mapping=bookings)  # type: ignore[arg-type]
                pipe.sadd(keys.users, *by_user)
                for user_id, ids in by_user.items():
                    pipe.sadd(keys.user(user_id), *ids)
            if content.tokens:
                tokens = {
                    token: orjson.dumps({"fingerprint": r.fingerprint, "booking": encode_booking(r.booking)})
                    for token, r in content.tokens.items()
                }
                pipe.hset(keys.tokens, mapping=tokens)  # type: ignore[arg-type]
            if taken:
                pipe.hset(keys.taken, mapping={slot_key(s): n for s, n in taken.items()})
                pipe.set(keys.active, sum(taken.values()))
            if claims:
                pipe.hset(keys.claims, mapping={claim_key(k): n for k, n in claims.items()})
            if content.next_seq > 1:
                pipe.set(keys.seq, content.next_seq - 1)
            if content.preferences:
                preferences = {p.user.user_id: orjson.dumps(encode_preference(p)) for p in content.preferences}
                pipe.hset(keys.marketing, mapping=preferences)  # type: ignore[arg-type]
            if content.waitlist:
                entries = {e.entry_id: orjson.dumps(encode_entry(e)) for e in content.waitlist}
                pipe.hset(keys.waitlist, mapping=entries)  # type: ignore[arg-type]
            if content.waitlist_tokens:
                records = {t: orjson.dumps(dataclasses.asdict(r)) for t, r in content.waitlist_tokens.items()}
                pipe.hset(keys.wtokens, mapping=records)  # type: ignore[arg-type]
            pipe.hset(keys.control, mapping=control)  # type: ignore[arg-type]
            if fired:
                pipe.hset(keys.fired, mapping=fired)
            generation = pipe.execute()[0]
    except redis.RedisError as exc:
        raise unavailable(exc) from None
    return int(generation)


class RedisState:
    """A tenant's booking state in Redis; reads are single commands, a change is one atomic script."""

    def __init__(self, client: redis.Redis, keys: TenantKeys, inventory: Inventory, epoch: str):
        self.lock = nullcontext()  # atomicity is the script's: it refuses a change whose reads went stale
        self.listener = BookingListener()
        self._client = client
        self._keys = keys
        self._inventory = inventory
        self._epoch = epoch  # a reset starts a new one: a change decided before it is refused (commit.lua)
        self._commit = client.register_script(COMMIT_LUA)
        self._set_marketing = client.register_script(MARKETING_LUA)
        self._commit_waitlist = client.register_script(WAITLIST_LUA)
        # The stored JSON of each booking this thread read: a change commits only if it is still what is stored.
        self._seen = threading.local()

    def spots_taken(self, slots: Iterable[Slot]) -> Mapping[Slot, int]:
        """One HMGET for every entry asked about, each once (a lookup's slot_times share most of their overlaps)."""
        wanted = list(dict.fromkeys(slots))
        if not wanted:
            return {}
        values = self._run(self._client.hmget, self._keys.taken, [slot_key(s) for s in wanted])
        return {slot: int(v) for slot, v in zip(wanted, values, strict=True) if v is not None}

    def record(self, token: str) -> IdempotencyRecord | None:
        """The first answer to the token."""
        raw = self._run(self._client.hget, self._keys.tokens, token)
        if raw is None:
            return None
        return decode_record(orjson.loads(raw), self._inventory)

    def booking(self, booking_id: str) -> Booking | None:
        """The booking as stored (remembered, so that a change to it commits only if nobody changed it first)."""
        raw = self._run(self._client.hget, self._keys.bookings, booking_id)
        if raw is None:
            return None
        self._remember(booking_id, raw)
        return self._decode(orjson.loads(raw))

    def holds(self, key: UserSlotKey) -> bool:
        """Whether the user holds that start."""
        return bool(self._run(self._client.hexists, self._keys.claims, claim_key(key)))

    def user_bookings(self, user_id: str) -> list[Booking]:
        """The user's bookings (one SMEMBERS, one HMGET)."""
        ids = sorted(self._run(self._client.smembers, self._keys.user(user_id)))
        if not ids:
            return []
        docs = self._run(self._client.hmget, self._keys.bookings, ids)
        mine = [self._decode(orjson.loads(raw)) for raw in docs if raw is not None]
        return [b for b in mine if b.user.user_id == user_id]  # a set left from before a reset names others' ids

    def all_bookings(self) -> list[Booking]:
        """Every booking, oldest first."""
        stored = self._run(self._client.hgetall, self._keys.bookings)
        return [self._decode(orjson.loads(stored[k])) for k in sorted(stored)]

    def counts(self) -> dict[str, int]:
        """Booking counts (two commands in one round trip)."""
        pipe = self._client.pipeline(transaction=False)
        pipe.hlen(self._keys.bookings)
        pipe.get(self._keys.active)
        total, active = self._run(pipe.execute)
        return {"bookings": int(total), "active_bookings": int(active or 0)}

    def content(self) -> StateContent:
        """The whole state, read in one MULTI/EXEC (no change lands between its parts)."""
        keys = self._keys
        pipe = self._client.pipeline(transaction=True)
        pipe.hgetall(keys.bookings)
        pipe.hgetall(keys.tokens)
        pipe.get(keys.seq)
        pipe.hvals(keys.marketing)
        pipe.hgetall(keys.waitlist)
        pipe.hgetall(keys.wtokens)
        bookings, tokens, seq, preferences, waitlist, wtokens = self._run(pipe.execute)
        return StateContent(
            [self._decode(orjson.loads(bookings[k])) for k in sorted(bookings)],
            {k.decode(): decode_record(orjson.loads(tokens[k]), self._inventory) for k in sorted(tokens)},
            int(seq or 0) + 1,
            sorted((decode_preference(orjson.loads(raw)) for raw in preferences), key=lambda p: p.user.user_id),
            [decode_entry(orjson.loads(waitlist[k])) for k in sorted(waitlist)],
            {k.decode(): WaitlistRecord(**orjson.loads(wtokens[k])) for k in sorted(wtokens)},
        )

    def waitlist_entries(self) -> list[WaitlistEntry]:
        """Every waitlist entry (one HVALS)."""
        return [decode_entry(orjson.loads(raw)) for raw in self._run(self._client.hvals, self._keys.waitlist)]

    def waitlist_entry(self, entry_id: str) -> WaitlistEntry | None:
        """The entry as stored (remembered: a change to it commits only if nobody changed it first)."""
        raw = self._run(self._client.hget, self._keys.waitlist, entry_id)
        if raw is None:
            return None
        self._remember("waitlist:" + entry_id, raw)
        return decode_entry(orjson.loads(raw))

    def waitlist_record(self, token: str) -> WaitlistRecord | None:
        """The entry a token made."""
        raw = self._run(self._client.hget, self._keys.wtokens, token)
        return None if raw is None else WaitlistRecord(**orjson.loads(raw))

    def commit_waitlist(self, change: WaitlistChange) -> WaitlistEntry | None:
        """Run waitlist.lua; None when what the rules read changed meanwhile (they decide again)."""
        before, after = change.before, change.after
        keys = self._keys
        doc = encode_entry(after)
        if before is None:
            del doc["entry_id"]  # the first field: the script numbers the entry and puts its id first
            args: list[bytes | str | int] = [
                self._epoch,
                "",
                change.seen,
                orjson.dumps(doc)[1:],
                change.token,
                orjson.dumps({"fingerprint": change.fingerprint})[:-1],
            ]
        else:
            seen = self._seen_raw("waitlist:" + before.entry_id)
            args = [self._epoch, after.entry_id, seen, orjson.dumps(doc), "", b""]
        try:
            answer = self._commit_waitlist(keys=[keys.waitlist, keys.wtokens, keys.anchor], args=args)
        except redis.RedisError as exc:
            raise StoreFailed(
                f"the Redis store (MOCK_STORE) failed during the change ({exc}); it may or may not have been made: "
                "read the entry back, or retry with the same idempotency token"
            ) from None
        if answer is None:
            return None
        if answer == b"stale":
            raise StoreFailed("the tenant was reset or deleted while this request ran; nothing was changed, try again")
        entry_id, raw = answer
        self._remember("waitlist:" + entry_id.decode(), raw)
        return decode_entry(orjson.loads(raw))

    def commit(self, change: Change) -> Booking | None:
        """Run commit.lua; None when what the rules read changed meanwhile (they decide again)."""
        before, after = change.before, change.after
        if before is None:
            self.listener.commit(after, change.token)
        else:
            self.listener.commit(after)
        before_raw = b"" if before is None else self._seen_raw(before.booking_id)
        take, free, claim = change.take, change.free, change.claim
        keys = self._keys
        doc = encode_booking(after)
        if before is None:  # the script numbers it: every field but the id, the script puts the id first
            del doc["booking_id"]
        args: list[bytes | str | int] = [
            "" if before is None else after.booking_id,
            before_raw,
            orjson.dumps(doc)[1:] if before is None else orjson.dumps(doc),
            change.token,
            orjson.dumps(change.fingerprint),
            b"" if take is None else slot_key(take),
            0 if take is None else take.spots_total,
            b"" if free is None else slot_key(free),
            b"" if claim is None else claim_key(claim),
            claim_key(user_slot_key(before)) if before is not None and before.is_active else b"",
            claim_key(user_slot_key(after)) if after.is_active else b"",
            int(after.is_active) - int(before is not None and before.is_active),
            self._epoch,
            after.user.user_id,
            0 if take is None else take.start_sec,
            *(() if take is None else _hold_triples(self._inventory.resources.overlapping(take))),
        ]
        user_keys = [keys.user(after.user.user_id), keys.users, keys.anchor]
        try:
            answer = self._commit(
                keys=[keys.bookings, keys.tokens, keys.taken, keys.claims, keys.seq, keys.active, *user_keys], args=args
            )
        except redis.RedisError as exc:
            # Sent, maybe run: unlike a read, a failed change cannot say that nothing changed.
            raise StoreFailed(
                f"the Redis store (MOCK_STORE) failed during the change ({exc}); it may or may not have been made: "
                "read the booking back, or retry with the same idempotency token"
            ) from None
        if answer is None:
            return None
        if answer == b"stale":
            raise StoreFailed("the tenant was reset or deleted while this request ran; nothing was changed, try again")
        booking_id, raw = answer
        self._remember(booking_id.decode(), raw)
        return self._decode(orjson.loads(raw))

    def marketing_preferences(self) -> list[MarketingPreference]:
        """Every user's preference (one HVALS)."""
        return [decode_preference(orjson.loads(raw)) for raw in self._run(self._client.hvals, self._keys.marketing)]

    def set_marketing_preference(self, preference: MarketingPreference) -> None:
        """Run marketing.lua: kept in this epoch, or StoreFailed (the tenant was reset meanwhile, or Redis failed)."""
        self.listener.marketing(preference)
        keys = self._keys
        args: list[bytes | str] = [preference.user.user_id, orjson.dumps(encode_preference(preference)), self._epoch]
        try:
            answer = self._set_marketing(keys=[keys.marketing, keys.anchor], args=args)
        except redis.RedisError as exc:
            raise StoreFailed(
                f"the Redis store (MOCK_STORE) failed while keeping the preference ({exc}); it may or may not have "
                "been kept: send it again"
            ) from None
        if answer == b"stale":
            raise StoreFailed("the tenant was reset or deleted while this request ran; nothing was changed, try again")

    def _decode(self, doc: dict) -> Booking:
        return decode_booking(doc, self._inventory)

    def _remember(self, booking_id: str, raw: bytes) -> None:
        seen = getattr(self._seen, "raw", None)
        if seen is None:
            seen = self._seen.raw = {}
        elif len(seen) > 64:  # only the last reads of this thread matter
            seen.clear()
        seen[booking_id] = raw

    def _seen_raw(self, booking_id: str) -> bytes:
        return getattr(self._seen, "raw", {}).get(booking_id, b"")

    @staticmethod
    def _run(command, *args, **kwargs):
        try:
            return command(*args, **kwargs)
        except redis.RedisError as exc:
            raise unavailable(exc) from None
