-- Peak number of calls in progress at once, per local hour (REPORTING__TIMEZONE) and vendor.
-- A call is in progress over [started_at, ended_at): one ending as another starts does not
-- overlap it. A call without ended_at (still active) counts until the vendor's last event.
-- Every hour from a vendor's first to its last event has a row, 0 when nothing was going on.
with calls as (

    select * from reporting.calls
    where started_at is not null

),

settings as (

    select * from staging.reporting_settings

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

hour_starts as (

    -- the instants where a local hour begins (zone offsets are whole quarter hours), so hours
    -- with no starts or ends still get the level that carries into them
    select
        vendor,
        unnest(generate_series(
            to_timestamp(900 * floor(epoch(min(instant)) / 900)), max(instant), interval '15 minutes'
        )) as instant,
        0 as delta
    from changes
    group by vendor

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
        select hour_starts.* from hour_starts cross join settings
        where minute(timezone(settings.timezone, hour_starts.instant)) = 0
    ) as changes_and_hour_starts

),

hourly as (

    select
        date_trunc('hour', timezone(settings.timezone, levels.instant)) as hour,
        levels.vendor,
        cast(max(levels.in_progress) as bigint) as peak_concurrent_calls
    from levels
    cross join settings
    group by all

)

select * from hourly
