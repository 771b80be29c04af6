-- One row per SIP header value of a call: Bandwidth's X- headers, and the headers of a Genesys
-- conversation's INVITE on each of its calls (loaded with SOURCES__GENESYS__INCLUDE_HEADERS).
with bandwidth_headers as (

    select * from staging.bandwidth_sip_headers

),

genesys_headers as (

    select * from staging.genesys_conversation_headers

),

genesys_calls as (

    select
        call_id,
        conversation_id
    from intermediate.calls_genesys
    where conversation_id is not null

),

headers as (

    select
        'bandwidth' as vendor,
        call_id,
        cast(null as varchar) as conversation_id,
        name,
        cast(0 as bigint) as value_index,
        value
    from bandwidth_headers

    union all

    select
        'genesys' as vendor,
        genesys_calls.call_id,
        genesys_headers.conversation_id,
        genesys_headers.name,
        genesys_headers.value_index,
        genesys_headers.value
    from genesys_headers
    inner join genesys_calls on genesys_headers.conversation_id = genesys_calls.conversation_id

)

select * from headers
