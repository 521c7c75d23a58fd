"""Small helpers for wording numbers the way people read them.

Every count the CLI, the digest and the review print goes through
:func:`counted`, so none of them says "1 FAQs", "1 people" or "question(s)";
:func:`duration` names a length of time in the largest unit that reads
naturally ("7 days", "20 hours"), never "0.831 days".
"""

from __future__ import annotations

from datetime import timedelta


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """``count`` with its noun in the number it needs: ``1 FAQ``, ``2 FAQs``,
    ``1 person``, ``3 people`` (``plural`` defaults to ``singular + "s"``)."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def duration(length: timedelta) -> str:
    """``length`` as people say it: whole days (``7 days``, ``1 day``), else
    hours (``20 hours``, for a day and a half too: ``36 hours``), else minutes
    (``45 minutes``), rounded; never "0.831 days"."""
    days = length / timedelta(days=1)
    if days >= 1 and abs(days - round(days)) < 1 / 48:  # whole days, to the half hour
        return counted(round(days), "day")
    hours = length / timedelta(hours=1)
    if hours >= 1:
        return counted(round(hours), "hour")
    return counted(max(1, round(length / timedelta(minutes=1))), "minute")
