-- Peak number of calls in progress at once, per local hour (REPORTING__TIMEZONE) and vendor.
-- A call is in progress over [started_at, ended_at): one ending as another starts does not
-- overlap it. A call without ended_at (still active) counts until the vendor's last event.
-- Only hours inside the vendor's loaded ranges have a row: a 0 is a measured idle hour, and an
-- hour nobody loaded has no row (reporting.loaded_ranges says which were loaded).
with calls as (

    select * from reporting.calls
    where started_at is not null

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

    -- every quarter hour of the loaded ranges (zone offsets are whole quarter hours)
    select
        vendor,
        unnest(generate_series(
            to_timestamp(900 * ceil(epoch(loaded_from) / 900)), loaded_until, interval '15 minutes'
        )) as instant
    from ranges

),

markers as (

    -- no change: the instants where a local hour or a loaded range begins, so hours with no
    -- starts or ends still get the level that carries into them
    select
        quarter_hours.vendor,
        quarter_hours.instant
    from quarter_hours
    cross join settings
    where minute(timezone(settings.timezone, quarter_hours.instant)) = 0

    union all

    select
        vendor,
        loaded_from as instant
    from ranges

),

levels as (

    -- the number in progress just after each change (ends before starts at the same instant)
    select
        vendor,
        instant,
        sum(delta) over (
            partition by vendor order by instant, delta rows between unbounded preceding and current row
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

hourly as (

    select
        date_trunc('hour', timezone(settings.timezone, loaded_levels.instant)) as hour,
        loaded_levels.vendor,
        cast(max(loaded_levels.in_progress) as bigint) as peak_concurrent_calls
    from loaded_levels
    cross join settings
    group by all

)

select * from hourly
