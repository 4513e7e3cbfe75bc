"""The sandbox clock."""

from mock_server.domain.clock import SandboxClock


def test_running_clock_follows_the_wall_plus_offset():
    wall = [1000.7]
    clock = SandboxClock(wall=lambda: wall[0])
    assert clock.now() == 1000
    clock.advance(60)
    wall[0] += 5
    assert clock.now() == 1065


def test_freeze_advance_and_unfreeze_keep_time_continuous():
    wall = [1000.0]
    clock = SandboxClock(wall=lambda: wall[0])
    clock.freeze(5000)
    wall[0] += 100
    assert clock.now() == 5000 and clock.frozen
    clock.advance(10)
    clock.unfreeze()
    assert clock.now() == 5010
    wall[0] += 1
    assert clock.now() == 5011
    assert clock.state() == {"now_sec": 5011, "frozen": False, "offset_sec": 4010 - 100}
