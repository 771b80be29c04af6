-- Calls per local day (REPORTING__TIMEZONE, via staging.reporting_settings), vendor and direction.
-- A day has rows only if calls started in it; `complete` says whether the vendor's loaded ranges
-- cover the whole day (false: part of it was never loaded, e.g. today so far, or a hole).
with calls as (

    select * from reporting.calls

),

settings as (

    select * from staging.reporting_settings

),

ranges as (

    select * from staging.loaded_ranges

),

local_calls as (

    -- timezone(zone, instant) is the local wall-clock time: its date is the local day
    select
        cast(timezone(settings.timezone, calls.started_at) as date) as day,
        calls.vendor,
        calls.direction,
        calls.outcome,
        calls.talk_s
    from calls
    cross join settings

),

daily as (

    select
        day,
        vendor,
        direction,

        count(*) as calls,
        count(*) filter (where outcome = 'answered') as answered,
        count(*) filter (where outcome = 'missed') as missed,
        count(*) filter (where outcome = 'failed') as failed,
        count(*) filter (where outcome = 'active') as active,
        count(*) filter (where outcome = 'unknown') as unknown,
        coalesce(sum(talk_s), 0) as talk_s_total,
        -- answered calls whose talk time is known (an answered call without an end has none)
        count(talk_s) as timed

    from local_calls
    group by day, vendor, direction

),

final as (

    select
        day,
        vendor,
        direction,
        calls,
        answered,
        missed,
        failed,
        active,
        unknown,
        -- of the calls with a final outcome: answered / (answered + missed + failed), a double
        -- (a count divided by a count is an integer division on some engines)
        cast(answered as double precision) / nullif(answered + missed + failed, 0) as answer_rate,
        talk_s_total,
        cast(talk_s_total as double precision) / nullif(timed, 0) as talk_s_avg,
        -- one loaded range covers local midnight to midnight (touching ranges are merged)
        exists(
            select 1
            from ranges
            cross join settings
            where
                ranges.vendor = daily.vendor
                and ranges.loaded_from <= timezone(settings.timezone, cast(daily.day as timestamp))
                and ranges.loaded_until >= timezone(settings.timezone, cast(daily.day + interval '1 day' as timestamp))
        ) as complete

    from daily

)

select * from final
