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

daily as (

    select
        cast(timezone(settings.timezone, calls.started_at) as date) as day,
        calls.vendor,
        calls.direction,

        count(*) as calls,
        count(*) filter (where calls.outcome = 'answered') as answered,
        count(*) filter (where calls.outcome = 'missed') as missed,
        count(*) filter (where calls.outcome = 'failed') as failed,
        count(*) filter (where calls.outcome = 'active') as active,
        count(*) filter (where calls.outcome = 'unknown') as unknown,
        coalesce(sum(calls.talk_s), 0) as talk_s_total

    from calls
    cross join settings
    group by all

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
        -- of the calls with a final outcome: answered / (answered + missed + failed)
        answered / nullif(answered + missed + failed, 0) as answer_rate,
        talk_s_total,
        talk_s_total / nullif(answered, 0) as talk_s_avg,
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
