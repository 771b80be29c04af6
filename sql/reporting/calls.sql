-- One row per call, all vendors, with its outcome from staging.outcome_map.
with vendor_calls as (

    -- the common call shape, column by column (each vendor's view lists them in this order)
    select
        vendor,
        call_id,
        direction,
        from_number,
        to_number,
        started_at,
        answered_at,
        ended_at,
        status_raw,
        has_recording
    from intermediate.calls_cinnox

    union all

    select
        vendor,
        call_id,
        direction,
        from_number,
        to_number,
        started_at,
        answered_at,
        ended_at,
        status_raw,
        has_recording
    from intermediate.calls_bandwidth

    union all

    select
        vendor,
        call_id,
        direction,
        from_number,
        to_number,
        started_at,
        answered_at,
        ended_at,
        status_raw,
        has_recording
    from intermediate.calls_genesys

),

outcome_map as (

    select * from staging.outcome_map

),

with_outcome as (

    select
        vendor_calls.*,
        coalesce(exact.outcome, sip_class.outcome, 'unknown') as outcome

    from vendor_calls
    -- a row naming the status itself wins over a row naming its SIP class ('4xx')
    left join outcome_map as exact
        on vendor_calls.vendor = exact.vendor
        and vendor_calls.status_raw = exact.status
        and (exact.when_answered is null or exact.when_answered = (vendor_calls.answered_at is not null))
        and (exact.when_ended is null or exact.when_ended = (vendor_calls.ended_at is not null))
    left join outcome_map as sip_class
        on vendor_calls.vendor = sip_class.vendor
        and sip_class.status = left(vendor_calls.status_raw, 1) || 'xx'
        and (sip_class.when_answered is null or sip_class.when_answered = (vendor_calls.answered_at is not null))
        and (sip_class.when_ended is null or sip_class.when_ended = (vendor_calls.ended_at is not null))

),

calls as (

    select
        -- ids
        vendor,
        call_id,

        -- parties
        direction,
        from_number,
        to_number,

        -- timestamps
        started_at,
        answered_at,
        ended_at,

        -- measures (seconds, millisecond precision): ring until answered; talk from the answer
        -- (CINNOX: from the start, as it does not say when a call was answered) to the end.
        -- An answered call without an end (CINNOX "Call Ended" without callEndTime) has talk_s
        -- NULL: its talk time is unknown, never guessed.
        -- Seconds since the epoch, subtracted: `ended_at - answered_at` would be an interval,
        -- which DuckDB counts in calendar days of its session time zone.
        case
            when answered_at is not null
                then cast(extract(epoch from answered_at) - extract(epoch from started_at) as decimal(18, 3))
        end as ring_s,
        case
            when outcome = 'answered' and ended_at is not null
                then cast(
                    extract(epoch from ended_at) - extract(epoch from coalesce(answered_at, started_at)) as decimal(18, 3)
                )
        end as talk_s,

        -- status
        outcome,
        status_raw,
        has_recording

    from with_outcome

)

select * from calls
