"""The tavern clock: minutes since the world began, told in bells, named days and seasons."""
from __future__ import annotations

MINUTES_PER_DAY = 24 * 60
DAY_NAMES = ("Moonday", "Ironday", "Wyrmsday", "Thornsday", "Freyday", "Starday", "Sunsday")
SEASONS = ("Spring", "Summer", "Autumn", "Winter")
DAYS_PER_SEASON = 14
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth")
PARTS = (("night", 0), ("morning", 6), ("afternoon", 12), ("evening", 18))


def minute_of(day: int, hour: int, minute: int = 0) -> int:
    return day * MINUTES_PER_DAY + hour * 60 + minute


def day_of(minute: int) -> int:
    return minute // MINUTES_PER_DAY


def hour_of(minute: int) -> int:
    return (minute % MINUTES_PER_DAY) // 60


def part_of_day(hour: int) -> str:
    part = "night"
    for name, start in PARTS:
        if hour >= start:
            part = name
    return part


def bell_label(hour: int) -> str:
    """Each part of the day has six bells; the first bell of morning rings at six."""
    part = part_of_day(hour)
    start = dict(PARTS)[part]
    return f"{ORDINALS[hour - start]} bell of {part}"


def time_frame(minute: int) -> dict:
    day, hour = day_of(minute), hour_of(minute)
    season = SEASONS[(day // DAYS_PER_SEASON) % len(SEASONS)]
    bell = bell_label(hour)
    day_name = DAY_NAMES[day % 7]
    return {
        "minute": minute,
        "hour": hour,
        "bell": bell,
        "part": part_of_day(hour),
        "day": day,
        "day_name": day_name,
        "season": season,
        "year": day // (DAYS_PER_SEASON * len(SEASONS)) + 1,
        "label": f"{bell[0].upper()}{bell[1:]}, {day_name}, {season}",
    }


def next_time_at(minute: int, hour: int) -> int:
    """The first minute after `minute` at which the clock shows `hour` o'clock."""
    day = day_of(minute)
    candidate = minute_of(day, hour)
    return candidate if candidate > minute else candidate + MINUTES_PER_DAY
