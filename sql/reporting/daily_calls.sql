-- Calls per local day (REPORTING__TIMEZONE, via staging.reporting_settings), vendor and direction.
with calls as (

    select * from reporting.calls

),

settings as (

    select * from staging.reporting_settings

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
        talk_s_total / nullif(answered, 0) as talk_s_avg

    from daily

)

select * from final
