-- Peak number of calls in progress at once, per local hour (REPORTING__TIMEZONE) and vendor.
-- A call is in progress over [started_at, ended_at): one ending as another starts does not
-- overlap it. A call without ended_at (still active) counts until the vendor's last event; one
-- that ended without saying when (CINNOX "Call Ended" without callEndTime) is left out, as when
-- it was in progress is unknown (counting it until the last event would raise every later hour).
-- Only hours inside the vendor's loaded ranges have a row: a 0 is a measured idle hour, and an
-- hour nobody loaded has no row (reporting.loaded_ranges says which were loaded).
with calls as (

    select * from reporting.calls
    where
        started_at is not null
        and (ended_at is not null or outcome = 'active')

),

settings as (

    select * from staging.reporting_settings

),

ranges as (

    select * from staging.loaded_ranges

),

changes as (

    -- +1 when a call starts, -1 when it ends
    select
        vendor,
        started_at as instant,
        1 as delta
    from calls

    union all

    select
        vendor,
        ended_at as instant,
        -1 as delta
    from calls
    where ended_at is not null

),

span as (

    -- a vendor's first and last start or end
    select
        vendor,
        min(instant) as first_instant,
        max(instant) as last_instant
    from changes
    group by vendor

),

quarter_hours as (

    -- every quarter hour of the loaded ranges (zone offsets are whole quarter hours), from the
    -- first one at or after loaded_from (rounded up in seconds since the epoch, whatever the zone)
    select
        ranges.vendor,
        quarter_hour.instant
    from ranges
    cross join generate_series(
        to_timestamp(900 * ceil(extract(epoch from ranges.loaded_from) / 900)), ranges.loaded_until, interval '15 minutes'
    ) as quarter_hour (instant)

),

markers as (

    -- no change: the instants where a local hour or a loaded range begins, so hours with no
    -- starts or ends still get the level that carries into them
    select
        quarter_hours.vendor,
        quarter_hours.instant
    from quarter_hours
    cross join settings
    where extract(minute from timezone(settings.timezone, quarter_hours.instant)) = 0

    union all

    select
        vendor,
        loaded_from as instant
    from ranges

),

levels as (

    -- the number in progress just after each change (ends before starts at the same instant).
    -- Neither key is ever NULL: `nulls first` only spells out one order every engine reads alike.
    select
        vendor,
        instant,
        sum(delta) over (
            partition by vendor order by instant nulls first, delta nulls first
            rows between unbounded preceding and current row
        ) as in_progress
    from (
        select * from changes

        union all

        select
            markers.vendor,
            markers.instant,
            0 as delta
        from markers
        inner join span
            on markers.vendor = span.vendor
            and markers.instant between span.first_instant and span.last_instant
    ) as changes_and_markers

),

loaded_levels as (

    -- the ranges are disjoint: each instant matches one range or none
    select levels.*
    from levels
    inner join ranges
        on levels.vendor = ranges.vendor
        and levels.instant >= ranges.loaded_from
        and levels.instant < ranges.loaded_until

),

local_levels as (

    -- the local wall-clock hour (a timestamp without zone: date_trunc does not depend on the
    -- session's time zone); on the night clocks go back, both passes of the repeated hour are one
    select
        date_trunc('hour', timezone(settings.timezone, loaded_levels.instant)) as hour,
        loaded_levels.vendor,
        loaded_levels.in_progress
    from loaded_levels
    cross join settings

),

hourly as (

    select
        hour,
        vendor,
        cast(max(in_progress) as bigint) as peak_concurrent_calls
    from local_levels
    group by hour, vendor

)

select * from hourly
