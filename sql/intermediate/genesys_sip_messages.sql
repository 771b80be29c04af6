-- Genesys SIP messages with the SIP conventions decoded: request or reply, the reply's status
-- code, the method a CSeq names (inferred where a record has no CSeq), and the dialog's
-- conversation on every row.
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

kinds as (

    -- Request or reply: from `type` ("1" a request, "2" a reply) when the record has it, else from
    -- `method` (a reply's method is its numeric status code). Every HomerRecord field is optional.
    select
        messages.*,
        coalesce(messages.conversation_id, dialog_conversations.conversation_id) as dialog_conversation_id,
        coalesce(messages.micro_ts, epoch_us(messages.traced_at)) as sequence,
        coalesce(
            case messages.message_type when '1' then true when '2' then false end,
            try_cast(messages.method as integer) is null
        ) as is_request
    from messages
    left join dialog_conversations on messages.sip_call_id = dialog_conversations.sip_call_id

),

ordered as (

    -- What a reply without CSeq answers: a reply right after a CANCEL answers the CANCEL, any
    -- other the dialog's latest request before it other than ACK and CANCEL (an INVITE or a BYE).
    select
        kinds.*,
        case when kinds.is_request then upper(kinds.method) end as request_method,
        lag(case when kinds.is_request then upper(kinds.method) end) over dialog_order as previous_request,
        last_value(
            case when kinds.is_request and upper(kinds.method) not in ('ACK', 'CANCEL') then upper(kinds.method) end
            ignore nulls
        ) over (dialog_order rows between unbounded preceding and 1 preceding) as open_request
    from kinds
    window dialog_order as (partition by kinds.sip_call_id order by kinds.sequence, kinds.message_id)

),

decoded as (

    select
        -- ids
        ordered.message_id,
        ordered.sip_call_id,
        ordered.dialog_conversation_id as conversation_id,

        -- timestamps; `sequence` orders a dialog's messages (microseconds, else the date)
        ordered.traced_at,
        ordered.sequence,

        -- the message
        ordered.is_request,
        ordered.request_method,
        case when not ordered.is_request then try_cast(ordered.method as integer) end as status_code,
        ordered.reply_reason,
        ordered.cseq,
        try_cast(split_part(trim(ordered.cseq), ' ', 1) as bigint) as cseq_number,
        coalesce(
            upper(nullif(split_part(trim(ordered.cseq), ' ', 2), '')),
            ordered.request_method,
            case when ordered.previous_request = 'CANCEL' then 'CANCEL' else ordered.open_request end
        ) as cseq_method,

        -- parties and network
        ordered.from_user,
        ordered.to_user,
        ordered.source_ip,
        ordered.destination_ip

    from ordered

)

select * from decoded
