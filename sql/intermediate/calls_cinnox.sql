-- CINNOX call records in the common call shape (before outcomes, which reporting.calls assigns).
with call_detail as (

    select * from staging.cinnox_call_detail

),

recorded as (

    select distinct call_id from staging.cinnox_recording_files

),

shaped as (

    select
        -- ids
        'cinnox' as vendor,
        call_detail.call_id,

        -- parties
        case lower(call_detail.direction)
            when 'inbound' then 'inbound'
            when 'outbound' then 'outbound'
        end as direction,
        call_detail.from_number,
        call_detail.to_number,

        -- timestamps: CINNOX does not say when a call was answered
        call_detail.started_at,
        cast(null as timestamptz) as answered_at,
        call_detail.ended_at,

        -- status
        call_detail.status as status_raw,
        recorded.call_id is not null as has_recording

    from call_detail
    left join recorded on call_detail.call_id = recorded.call_id

)

select * from shaped
