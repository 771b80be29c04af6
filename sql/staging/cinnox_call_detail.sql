-- One row per CINNOX call record (cinnox.call_detail), from committed loads only.
with source as (

    select * from cinnox.call_detail
    where _dlt_load_id in (
        select committed_loads.load_id from staging.committed_loads
        where committed_loads.vendor = 'cinnox'
    )

),

renamed as (

    select
        -- ids
        id as call_id,
        call_id as cinnox_call_id,
        nullif(room_id, '') as room_id,
        nullif(svc_id, '') as service_id,

        -- parties (phone numbers are text exactly as sent)
        call_direction as direction,
        call_type,
        caller as from_number,
        callee as to_number,
        nullif(from_eid, '') as from_staff_id,
        nullif(to_eid, '') as to_staff_id,
        nullif(from_display_name, '') as from_display_name,
        nullif(to_display_name, '') as to_display_name,
        nullif(from_department, '') as from_department,
        nullif(to_department, '') as to_department,
        nullif(from_role, '') as from_role,
        nullif(to_role, '') as to_role,
        nullif(last_handled_party, '') as last_handled_staff_id,
        nullif(release_party, '') as release_party,

        -- timestamps
        call_date as started_at,
        call_end_time as ended_at,

        -- status
        status,
        last_response_code,
        bye_reason,
        record_type,
        media_type,
        is_recording,
        has_audio_file,

        -- lineage
        _dlt_load_id as load_id

    from source

)

select * from renamed
