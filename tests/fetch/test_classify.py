"""The one classification of vendor answers that the API client and the Genesys token client share."""

import httpx
import pytest

from pipelines.fetch.retry import RETRIED_ERRORS, Answer, classify


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (200, Answer.ACCEPT),
        (204, Answer.ACCEPT),
        (302, Answer.ACCEPT),
        (429, Answer.THROTTLED),
        (500, Answer.RETRY),
        (502, Answer.RETRY),
        (503, Answer.RETRY),
        (504, Answer.RETRY),
        (401, Answer.REJECTED),
        (403, Answer.REJECTED),
        (400, Answer.FATAL),
        (404, Answer.FATAL),
        (501, Answer.FATAL),
        (505, Answer.FATAL),
    ],
)
def test_each_status_has_one_answer(status, answer):
    assert classify(status) is answer


def test_transport_errors_are_retried_and_others_are_not():
    assert isinstance(httpx.ReadTimeout("slow"), RETRIED_ERRORS)
    assert isinstance(httpx.RemoteProtocolError("dropped"), RETRIED_ERRORS)
    assert not isinstance(ValueError("bug"), RETRIED_ERRORS)
