"""How far the bench's client ran behind its schedule, the most in each second."""

from rdv_tools.bench.e2e import SendLag, _by_second


def test_each_second_keeps_the_most_its_sends_ran_behind() -> None:
    lag = SendLag()
    lag.sent(0.0, 0.001)
    lag.sent(0.5, 0.004)
    lag.sent(0.9, 0.002)
    lag.sent(2.2, 0.0305)
    assert lag.by_second(2.5) == [4.0, 0.0, 30.5]


def test_a_second_begun_counts_and_on_time_is_zero() -> None:
    lag = SendLag()
    lag.sent(0.1, 0.0)
    assert lag.by_second(1.2) == [0.0, 0.0]
    assert SendLag().by_second(0.4) == [0.0]


def test_it_lines_up_with_the_late_answers_by_second() -> None:
    for seconds in (0.4, 2.5, 3.0, 10.0):
        assert len(SendLag().by_second(seconds)) == len(_by_second([], seconds))
