-- One row per X- SIP header of a Bandwidth call (bandwidth.calls__sip_headers).
with source as (

    select * from bandwidth.calls__sip_headers
    where _dlt_load_id in (
        select _dlt_loads.load_id from bandwidth._dlt_loads
        where _dlt_loads.status = 0
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
