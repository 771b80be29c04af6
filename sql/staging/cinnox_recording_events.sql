-- One row per recording event of a CINNOX call (cinnox.call_detail__recording_event_list).
with source as (

    select * from cinnox.call_detail__recording_event_list
    where _dlt_load_id in (
        select committed_loads.load_id from staging.committed_loads
        where committed_loads.vendor = 'cinnox'
    )

),

renamed as (

    select
        -- ids
        call_detail_id as call_id,
        event_index,
        nullif(recorder_eid, '') as recorder_id,

        -- timestamps
        start_at as started_at,
        end_at as ended_at,

        -- status
        code as result_code,

        -- lineage
        _dlt_load_id as load_id

    from source

)

select * from renamed
