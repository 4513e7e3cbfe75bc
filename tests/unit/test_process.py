"""What only a serving process does: the GC policy, the background writer; and that building an app does neither."""

import gc
import threading
import weakref

import pytest

from mock_server import create_app, process
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
def thawed(gc_restored):
    """Leave the collector as the test found it (tests/conftest.py's gc_restored), for every test here."""


def test_building_turns_automatic_collection_off_and_back_on():
    with process.building():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_building_restores_the_collector_when_the_block_raises():
    with pytest.raises(RuntimeError), process.building():
        raise RuntimeError("fixture broken")
    assert gc.isenabled()


def test_building_leaves_a_disabled_collector_disabled():
    gc.disable()
    with process.building():
        pass
    assert not gc.isenabled()


def test_settle_collects_garbage_then_freezes_what_is_alive():
    gc.unfreeze()
    dead = garbage_cycle()
    alive = Node()
    alive.other = alive
    process.settle()
    assert dead() is None
    assert gc.get_freeze_count() > 0
    assert gc.get_count()[0] < 50  # the closing collection ran: the young generation is (nearly) empty
    del alive


def test_a_slow_full_collection_freezes_its_survivors():
    gc.unfreeze()
    guard = process.PauseGuard(budget_ms=0).install()
    dead = garbage_cycle()
    gc.collect()
    assert dead() is None  # garbage is collected first: it is never frozen
    assert guard.freezes == 1
    assert gc.get_freeze_count() > 0


def test_young_collections_and_quick_full_ones_freeze_nothing():
    gc.unfreeze()
    slow_only = process.PauseGuard(budget_ms=60_000).install()
    any_full = process.PauseGuard(budget_ms=0).install()
    gc.collect(0)
    gc.collect(1)
    assert any_full.freezes == 0
    gc.collect()
    assert slow_only.freezes == 0 and any_full.freezes == 1


def test_install_is_idempotent_and_uninstall_puts_everything_back():
    before = gc.get_threshold()
    guard = process.PauseGuard(budget_ms=0)
    guard.install().install()
    assert gc.callbacks.count(guard) == 1 and gc.get_threshold() == (*before[:2], process.FULL_EVERY)
    guard.uninstall()
    gc.collect()
    assert guard not in gc.callbacks and guard.freezes == 0 and gc.get_threshold() == before


def test_a_reset_under_the_state_policy_frees_the_previous_state_cycles_included():
    with process.state_policy():
        runtime = Runtime(Settings(clock=1767225600))
    assert gc.get_freeze_count() > 0
    runtime.state_policy = process.state_policy  # as serve installs it
    old = weakref.ref(runtime.bookings)
    cycle = Node()
    cycle.other = cycle
    runtime.bookings.probe = cycle  # garbage once the old state goes: freed only if it was not frozen
    in_old_state = weakref.ref(cycle)
    del cycle
    runtime.reset()
    assert old() is None and in_old_state() is None
    assert runtime.bookings.inventory.counts()["slots"] > 0


def test_the_state_policy_freezes_what_was_built_and_restores_the_collector_if_the_build_fails():
    gc.unfreeze()
    with process.state_policy():
        assert not gc.isenabled()
        built = [Node() for _ in range(10)]
    assert gc.isenabled() and gc.get_freeze_count() > 0
    gc.unfreeze()
    with pytest.raises(ValueError), process.state_policy():
        raise ValueError("fixture broken")
    assert gc.isenabled() and gc.get_freeze_count() == 0
    del built


def _process_wide() -> tuple:
    return (
        gc.get_threshold(),
        gc.get_freeze_count(),
        gc.isenabled(),
        list(gc.callbacks),
        threading.active_count(),
        process.background_writer(),
    )


def test_building_an_app_and_resetting_it_touch_nothing_process_wide(tmp_path):
    before = _process_wide()
    app = create_app({"clock": 1767225600, "recordings_dir": str(tmp_path), "recording": "j"}, environ={})
    runtime = app.extensions["mock_server"]
    assert _process_wide() == before
    assert app.test_client().get("/v3/HealthCheck").status_code == 200  # a recorded exchange opens the journal
    runtime.reset()
    assert _process_wide() == before
    assert (tmp_path / "j.jsonl").read_bytes().count(b"\n") == 1  # written at once: no thread, no flush


class Batch:
    """A writer that counts its flushes."""

    def __init__(self):
        self.flushes = 0

    def flush(self):
        self.flushes += 1


def test_the_background_writer_flushes_its_writers_on_its_own_until_stopped():
    threads = threading.active_count()
    writer = process.start_background_writer(interval_s=0.001)
    try:
        assert process.background_writer() is writer and threading.active_count() == threads + 1
        batch = Batch()
        writer.add(batch)
        for _ in range(10_000):  # up to 10 s; the thread flushes every millisecond
            if batch.flushes >= 3:
                break
            threading.Event().wait(0.001)
        assert batch.flushes >= 3
    finally:
        writer.stop()
    assert process.background_writer() is None and threading.active_count() == threads  # the thread has ended


def test_stopping_the_background_writer_flushes_once_more():
    writer = process.start_background_writer(interval_s=3600)  # never on its own within this test
    batch = Batch()
    writer.add(batch)
    writer.stop()
    assert batch.flushes == 1


def test_the_background_writer_forgets_a_writer_that_is_gone_and_survives_one_that_fails():
    class Broken:
        def flush(self):
            raise OSError("disk gone")

    writer = process.BackgroundWriter()
    gone, broken, batch = Batch(), Broken(), Batch()
    for each in (gone, broken, batch):
        writer.add(each)
    del gone
    writer.flush_all()
    assert batch.flushes == 1 and len(writer._writers) == 2


def test_the_open_file_limit_is_lifted_to_the_hard_limit():
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 256), hard))
    try:
        process.raise_open_file_limit()
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
