-- One row per Bandwidth call in its latest state (bandwidth.calls), from committed loads only.
with source as (

    select * from bandwidth.calls
    where _dlt_load_id in (
        select committed_loads.load_id from staging.committed_loads
        where committed_loads.vendor = 'bandwidth'
    )

),

renamed as (

    select
        -- ids
        id as call_id,
        bridge_id,
        conference_id,

        -- parties (E.164 numbers or SIP URIs, text)
        direction,
        "from" as from_number,
        "to" as to_number,

        -- timestamps (active_time: answered; end_time: absent while the call is open)
        start_time as started_at,
        active_time as answered_at,
        end_time as ended_at,

        -- status
        state,
        recording_enabled,
        recording_file_format,
        transcription_enabled,

        -- measures
        chargeable_duration as chargeable_duration_s,

        -- lineage
        _dlt_load_id as load_id

    from source

)

select * from renamed
