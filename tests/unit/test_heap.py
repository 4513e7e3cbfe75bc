"""The GC policy: no collections while state is built, frozen once built, survivors frozen after slow pauses."""

import gc
import weakref

import pytest

from mock_server import heap
from mock_server.config import Settings
from mock_server.runtime import Runtime


class Node:
    """A weak-referenceable object that can sit in a reference cycle."""

    def __init__(self):
        self.other = None


def garbage_cycle() -> weakref.ref:
    """A two-object cycle nothing else references: only the cyclic GC can free it."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


@pytest.fixture(autouse=True)
def thawed():
    """Leave the collector as the test found it: enabled, same thresholds, no callback left, nothing frozen."""
    callbacks, thresholds = list(gc.callbacks), gc.get_threshold()
    yield
    gc.callbacks[:] = callbacks
    gc.set_threshold(*thresholds)
    gc.enable()
    gc.unfreeze()


def test_building_turns_automatic_collection_off_and_back_on():
    with heap.building():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_building_restores_the_collector_when_the_block_raises():
    with pytest.raises(RuntimeError), heap.building():
        raise RuntimeError("fixture broken")
    assert gc.isenabled()


def test_building_leaves_a_disabled_collector_disabled():
    gc.disable()
    with heap.building():
        pass
    assert not gc.isenabled()


def test_settle_collects_garbage_then_freezes_what_is_alive():
    gc.unfreeze()
    dead = garbage_cycle()
    alive = Node()
    alive.other = alive
    heap.settle()
    assert dead() is None
    assert gc.get_freeze_count() > 0
    assert gc.get_count()[0] < 50  # the closing collection ran: the young generation is (nearly) empty
    del alive


def test_a_slow_full_collection_freezes_its_survivors():
    gc.unfreeze()
    guard = heap.PauseGuard(budget_ms=0).install()
    dead = garbage_cycle()
    gc.collect()
    assert dead() is None  # garbage is collected first: it is never frozen
    assert guard.freezes == 1
    assert gc.get_freeze_count() > 0


def test_young_collections_and_quick_full_ones_freeze_nothing():
    gc.unfreeze()
    slow_only = heap.PauseGuard(budget_ms=60_000).install()
    any_full = heap.PauseGuard(budget_ms=0).install()
    gc.collect(0)
    gc.collect(1)
    assert any_full.freezes == 0
    gc.collect()
    assert slow_only.freezes == 0 and any_full.freezes == 1


def test_install_is_idempotent_and_uninstall_puts_everything_back():
    before = gc.get_threshold()
    guard = heap.PauseGuard(budget_ms=0)
    guard.install().install()
    assert gc.callbacks.count(guard) == 1 and gc.get_threshold() == (*before[:2], heap.FULL_EVERY)
    guard.uninstall()
    gc.collect()
    assert guard not in gc.callbacks and guard.freezes == 0 and gc.get_threshold() == before


def test_a_reset_frees_the_previous_state_cycles_included():
    runtime = Runtime(Settings(clock=1767225600))
    old = weakref.ref(runtime.bookings)
    cycle = Node()
    cycle.other = cycle
    runtime.bookings.probe = cycle  # garbage once the old state goes: freed only if it was not frozen
    in_old_state = weakref.ref(cycle)
    del cycle
    runtime.reset()
    assert old() is None and in_old_state() is None
    assert runtime.bookings.inventory.counts()["slots"] > 0
