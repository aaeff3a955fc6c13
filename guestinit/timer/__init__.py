"""Timer units' time arithmetic, pure: no clocks read, no files touched but tzdata.

Layout: ``calendar`` is the public face for calendar events (OnCalendar=):
``_calendar_model`` holds the frozen spec and its normalized text,
``_calendar_parse`` turns systemd.time(7) text into a spec, and
``_calendar_next`` steps field-wise to the next elapse, in the spec's zone.
"""
