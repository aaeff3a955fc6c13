"""systemd calendar events: parse, normalize, and find the next elapse. Pure.

``parse_calendar("Mon..Fri 09:00")`` gives a CalendarSpec whose
``normalized()`` is what ``systemd-analyze calendar`` prints
(``Mon..Fri *-*-* 09:00:00``); ``next_elapse(spec, after)`` is the first
matching time strictly after ``after``. The syntax is systemd.time(7)'s
"Calendar Events", as systemd 252 accepts it.

Not supported: ``@SECONDS`` epoch timestamps, and the local zone's own
abbreviation as a suffix (``CET`` on a machine in Europe/Berlin selects
standard/daylight time in systemd; here it is read as the IANA zone of that
name when one exists, else refused).
"""

from guestinit.timer._calendar_model import (
    CalendarError,
    CalendarSpec,
    Component,
    Weekday,
)
from guestinit.timer._calendar_next import matches, next_elapse, next_wall_time
from guestinit.timer._calendar_parse import parse_calendar

__all__ = [
    "CalendarError",
    "CalendarSpec",
    "Component",
    "Weekday",
    "matches",
    "next_elapse",
    "next_wall_time",
    "parse_calendar",
]
