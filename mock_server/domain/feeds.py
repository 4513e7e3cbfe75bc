"""Actions Center feeds (merchants, services, availability) built from the live inventory."""

from __future__ import annotations

from collections.abc import Iterator

from .bookings import BookingService
from .inventory import Inventory
from .models import JsonObject, Slot


def metadata(generated_sec: int, nonce: int) -> JsonObject:
    """FeedMetadata for a one-shard complete snapshot."""
    return {
        "processing_instruction": "PROCESS_AS_COMPLETE",
        "shard_number": 0,
        "total_shards": 1,
        "nonce": str(nonce),
        "generation_timestamp": generated_sec,
    }


def merchants(inventory: Inventory, merchant_id: str | None = None) -> list[JsonObject]:
    """Merchant feed entries (one merchant's, when given)."""
    out: list[JsonObject] = []
    for m in inventory.merchants.values():
        if merchant_id is not None and m.merchant_id != merchant_id:
            continue
        out.append(
            {
                "merchant_id": m.merchant_id,
                "name": m.name,
                "telephone": m.telephone,
                "url": m.url,
                "category": m.category,
                "geo": {"latitude": m.geo.get("latitude"), "longitude": m.geo.get("longitude"), "address": m.address},
            }
        )
    return out


def services(inventory: Inventory, merchant_id: str | None = None) -> list[JsonObject]:
    """Service feed entries (one merchant's, when given), with the policies that drive failures (prepayment,
    cancellation window)."""
    out: list[JsonObject] = []
    for s in inventory.services.values():
        if merchant_id is not None and s.merchant_id != merchant_id:
            continue
        entry: JsonObject = {
            "merchant_id": s.merchant_id,
            "service_id": s.service_id,
            "localized_service_name": {"value": s.name, "localized_value": [{"locale": "en", "value": s.name}]},
            "prepayment_type": "REQUIRED" if s.prepayment_required else "NOT_SUPPORTED",
        }
        if s.price_micros:
            entry["price"] = {"price_micros": str(s.price_micros), "currency_code": s.currency_code}
        if s.cancellation_window_sec:
            entry["rules"] = {"min_advance_online_canceling": s.cancellation_window_sec}
        if s.vertical == "dining":
            entry["type"] = "SERVICE_TYPE_DINING_RESERVATION"
        if s.waitlist:
            # The feed's WaitlistRules: the party sizes the waitlist takes, and whether it takes a request.
            entry["waitlist_rules"] = {
                "min_party_size": s.waitlist["min_party_size"],
                "max_party_size": s.waitlist["max_party_size"],
                "supports_additional_request": s.waitlist["supports_additional_request"],
            }
        out.append(entry)
    return out


def availability(bookings: BookingService, now_sec: int, merchant_id: str | None = None) -> list[JsonObject]:
    """ServiceAvailability entries, one per service, with live spots_open; past slots left out."""
    grouped: dict[tuple[str, str], list[JsonObject]] = {}
    slots = list(_future(bookings.inventory, now_sec, merchant_id))
    spots_open = bookings.spots_open_each(slots)  # one read for the whole feed
    for slot in slots:
        entry = availability_entry(slot, spots_open[slot])
        grouped.setdefault((slot.merchant_id, slot.service_id), []).append(entry)
    return [{"availability": entries} for entries in grouped.values()]


def availability_entry(slot: Slot, spots_open: int) -> JsonObject:
    """One Availability record in feed form (the spec's feed samples use JSON numbers)."""
    entry: JsonObject = {
        "merchant_id": slot.merchant_id,
        "service_id": slot.service_id,
        "start_sec": slot.start_sec,
        "duration_sec": slot.duration_sec,
        "spots_total": slot.spots_total,
        "spots_open": spots_open,
        "confirmation_mode": slot.confirmation_mode,
    }
    resources = {
        k: v
        for k, v in (
            ("staff_id", slot.staff_id),
            ("staff_name", slot.staff_name),
            ("room_id", slot.room_id),
            ("room_name", slot.room_name),
            ("party_size", slot.party_size),
        )
        if v
    }
    if resources:
        entry["resources"] = resources
    if slot.availability_tag:
        entry["availability_tag"] = slot.availability_tag
    return entry


def _future(inventory: Inventory, now_sec: int, merchant_id: str | None) -> Iterator[Slot]:
    return inventory.slots(merchant_id=merchant_id, start_from=now_sec + 1)
