"""The access-line buffer of the serving process: nothing lost, nothing reordered, a broken stream tolerated."""

import io
import threading

from mock_server.accesslog import LineBuffer


def test_lines_from_many_threads_all_arrive_each_threads_in_order():
    stream = io.StringIO()
    buffer = LineBuffer(stream)

    def add(thread: int) -> None:
        for i in range(2000):
            buffer.add(f"{thread}:{i}")

    threads = [threading.Thread(target=add, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    buffer.flush()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 8 * 2000
    for t in range(8):
        assert [int(x.split(":")[1]) for x in lines if x.startswith(f"{t}:")] == list(range(2000))


def test_a_closed_stream_does_not_raise():
    stream = io.StringIO()
    buffer = LineBuffer(stream)
    stream.close()
    buffer.add("x")
    buffer.flush()  # the line is dropped; serving goes on
