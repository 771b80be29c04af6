-- Bandwidth calls in the common call shape (before outcomes, which reporting.calls assigns).
with calls as (

    select * from staging.bandwidth_calls

),

shaped as (

    select
        -- ids
        'bandwidth' as vendor,
        call_id,

        -- parties
        case direction
            when 'in' then 'inbound'
            when 'out' then 'outbound'
        end as direction,
        from_number,
        to_number,

        -- timestamps
        started_at,
        answered_at,
        ended_at,

        -- status: Bandwidth lists no recording files, only whether recording was on
        state as status_raw,
        recording_enabled as has_recording

    from calls

)

select * from shaped
