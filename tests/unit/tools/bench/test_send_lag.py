"""How far the bench's client ran behind its schedule, the most in each second."""

from rdv_tools.bench.e2e import SendLag


def test_each_second_keeps_the_most_its_sends_ran_behind() -> None:
    lag = SendLag()
    lag.sent(0.0, 0.001)
    lag.sent(0.5, 0.004)
    lag.sent(0.9, 0.002)
    lag.sent(2.2, 0.0305)
    assert lag.by_second(3.0) == [4.0, 0.0, 30.5]


def test_a_second_begun_counts_and_on_time_is_zero() -> None:
    lag = SendLag()
    lag.sent(0.1, 0.0)
    assert lag.by_second(1.2) == [0.0, 0.0]
    assert SendLag().by_second(0.4) == [0.0]
