-- One row per Genesys SIP message: requests carry `method`, replies `status_code` and the method
-- they answer (from CSeq) in `method`.
with messages as (

    select * from intermediate.genesys_sip_messages

),

final as (

    select
        -- ids
        sip_call_id as call_id,
        conversation_id,
        message_id,

        -- timestamps
        traced_at as sent_at,

        -- the message
        coalesce(request_method, cseq_method) as method,
        status_code,
        is_request,
        reply_reason,
        cseq,

        -- parties and network
        from_user,
        to_user,
        source_ip,
        destination_ip

    from messages

)

select * from final
