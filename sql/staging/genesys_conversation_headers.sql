-- One row per SIP header value of a Genesys conversation (genesys.conversation_sip_headers;
-- loaded only with SOURCES__GENESYS__INCLUDE_HEADERS).
with source as (

    select * from genesys.conversation_sip_headers
    where _dlt_load_id in (
        select committed_loads.load_id from staging.committed_loads
        where committed_loads.vendor = 'genesys'
    )

),

renamed as (

    select
        -- ids
        conversation_id,

        -- header (a header with several values has one row per value)
        name,
        value_index,
        value,

        -- lineage
        _dlt_load_id as load_id

    from source

)

select * from renamed
