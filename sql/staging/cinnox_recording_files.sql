-- One row per recording file of a CINNOX recording event
-- (cinnox.call_detail__recording_event_list__files).
with source as (

    select * from cinnox.call_detail__recording_event_list__files
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
        file_index,
        id as file_id,
        name as file_name,

        -- file
        mime_type,
        type as file_type,
        is_private,
        download_url,

        -- measures
        duration as duration_ms,
        size as size_bytes,

        -- lineage
        _dlt_load_id as load_id

    from source

)

select * from renamed
