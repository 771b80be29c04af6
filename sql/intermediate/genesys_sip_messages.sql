-- Genesys SIP messages with the SIP conventions decoded: request or reply, the reply's status
-- code, the method a CSeq names, and the dialog's conversation on every row.
with messages as (

    select * from staging.genesys_sip_messages

),

dialog_conversations as (

    -- Not every row carries conversationId: a dialog's rows share the one its others carry.
    select
        sip_call_id,
        min(conversation_id) as conversation_id
    from messages
    where conversation_id is not null
    group by sip_call_id

),

decoded as (

    select
        -- ids
        messages.message_id,
        messages.sip_call_id,
        coalesce(messages.conversation_id, dialog_conversations.conversation_id) as conversation_id,

        -- timestamps; `sequence` orders a dialog's messages (microseconds, else the date)
        messages.traced_at,
        coalesce(messages.micro_ts, epoch_us(messages.traced_at)) as sequence,

        -- the message
        messages.message_type = '1' as is_request,
        case when messages.message_type = '1' then upper(messages.method) end as request_method,
        case when messages.message_type = '2' then try_cast(messages.method as integer) end as status_code,
        messages.reply_reason,
        messages.cseq,
        try_cast(split_part(trim(messages.cseq), ' ', 1) as bigint) as cseq_number,
        upper(nullif(split_part(trim(messages.cseq), ' ', 2), '')) as cseq_method,

        -- parties and network
        messages.from_user,
        messages.to_user,
        messages.source_ip,
        messages.destination_ip

    from messages
    left join dialog_conversations on messages.sip_call_id = dialog_conversations.sip_call_id

)

select * from decoded
