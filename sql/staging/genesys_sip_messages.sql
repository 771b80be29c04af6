-- One row per SIP message Genesys traced (genesys.siptraces, HomerRecord), committed loads only.
with source as (

    select * from genesys.siptraces
    where _dlt_load_id in (
        select committed_loads.load_id from staging.committed_loads
        where committed_loads.vendor = 'genesys'
    )

),

renamed as (

    select
        -- ids
        id as message_id,
        callid as sip_call_id,
        nullif(conversation_id, '') as conversation_id,
        nullif(participant_id, '') as participant_id,
        nullif(correlation_id, '') as correlation_id,

        -- timestamps (micro_ts: microseconds since the epoch, finer than `date`)
        date as traced_at,
        micro_ts,

        -- the message: type "1" a request (method INVITE, ACK, BYE, ...), "2" a reply
        -- (method holds the status code, e.g. "200", and reply_reason the phrase, e.g. "OK")
        type as message_type,
        method,
        nullif(reply_reason, '') as reply_reason,
        cseq,

        -- parties
        from_user,
        to_user,
        ruri_user,

        -- network
        source_ip,
        source_port,
        destination_ip,
        destination_port,

        -- lineage
        _dlt_load_id as load_id

    from source

)

select * from renamed
