-- One row per SIP header value of a Genesys conversation (genesys.conversation_sip_headers;
-- loaded only with SOURCES__GENESYS__INCLUDE_HEADERS).
with source as (

    select * from genesys.conversation_sip_headers
    where _dlt_load_id in (
        select _dlt_loads.load_id from genesys._dlt_loads
        where _dlt_loads.status = 0
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
