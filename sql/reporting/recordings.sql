-- One row per recording file (CINNOX: Bandwidth and Genesys recordings are not loaded).
with files as (

    select * from staging.cinnox_recording_files

),

events as (

    select * from staging.cinnox_recording_events

),

recordings as (

    select
        -- ids
        'cinnox' as vendor,
        files.call_id,
        files.event_index,
        files.file_index,
        files.file_id,
        files.file_name,
        events.recorder_id,

        -- timestamps: the recording event the file belongs to
        events.started_at,
        events.ended_at,

        -- file
        files.duration_ms,
        files.size_bytes,
        files.mime_type,
        case files.file_type when 2 then 'video' when 3 then 'audio' end as media,
        files.is_private

    from files
    left join events
        on files.call_id = events.call_id
        and files.event_index = events.event_index

)

select * from recordings
