-- One row per X- SIP header of a Bandwidth call (bandwidth.calls__sip_headers).
with source as (

    select * from bandwidth.calls__sip_headers
    where _dlt_load_id in (
        select committed_loads.load_id from staging.committed_loads
        where committed_loads.vendor = 'bandwidth'
    )

),

renamed as (

    select
        -- ids
        call_id,

        -- header
        name,
        value,

        -- lineage
        _dlt_load_id as load_id

    from source

)

select * from renamed
