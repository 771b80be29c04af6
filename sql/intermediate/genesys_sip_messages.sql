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
        min(conversation_id) as dialog_conversation_id
    from messages
    where conversation_id is not null
    group by sip_call_id

),

kinds as (

    -- Request or reply: from `type` ("1" a request, "2" a reply) when the record has it, else from
    -- `method` (a reply's method is its status code: 1 to 9 digits). Every HomerRecord field is
    -- optional. `sequence`: microTs, else the date in microseconds since the epoch.
    select
        messages.*,
        coalesce(messages.conversation_id, dialog_conversations.dialog_conversation_id) as dialog_conversation_id,
        coalesce(messages.micro_ts, cast(extract(epoch from messages.traced_at) * 1000000 as bigint)) as sequence,
        coalesce(
            case messages.message_type when '1' then true when '2' then false end,
            not coalesce(messages.method ~ '^[0-9]{1,9}$', false)
        ) as is_request
    from messages
    left join dialog_conversations on messages.sip_call_id = dialog_conversations.sip_call_id

),

positioned as (

    -- each message's place in its dialog: 1, 2, ... by sequence, then message id
    select
        kinds.*,
        case when kinds.is_request then upper(kinds.method) end as request_method,
        row_number() over (partition by kinds.sip_call_id order by kinds.sequence, kinds.message_id) as position_in_dialog
    from kinds

),

ordered as (

    -- What a reply without CSeq answers: a reply right after a CANCEL answers the CANCEL, any
    -- other the dialog's latest request before it other than ACK and CANCEL (an INVITE or a BYE),
    -- found by its position.
    select
        positioned.*,
        lag(positioned.request_method) over dialog_order as previous_request,
        max(
            case when positioned.request_method not in ('ACK', 'CANCEL') then positioned.position_in_dialog end
        ) over (dialog_order rows between unbounded preceding and 1 preceding) as open_request_position
    from positioned
    window dialog_order as (partition by positioned.sip_call_id order by positioned.position_in_dialog)

),

decoded as (

    select
        -- ids
        ordered.message_id,
        ordered.sip_call_id,
        ordered.dialog_conversation_id as conversation_id,

        -- timestamps; `sequence` orders a dialog's messages (microseconds, else the date), and
        -- `position_in_dialog` numbers them in that order
        ordered.traced_at,
        ordered.sequence,
        ordered.position_in_dialog,

        -- the message
        ordered.is_request,
        ordered.request_method,
        case when not ordered.is_request and ordered.method ~ '^[0-9]{1,9}$' then cast(ordered.method as integer) end
            as status_code,
        ordered.reply_reason,
        ordered.cseq,
        case
            when split_part(trim(ordered.cseq), ' ', 1) ~ '^[0-9]{1,18}$'
                then cast(split_part(trim(ordered.cseq), ' ', 1) as bigint)
        end as cseq_number,
        coalesce(
            upper(nullif(split_part(trim(ordered.cseq), ' ', 2), '')),
            ordered.request_method,
            case when ordered.previous_request = 'CANCEL' then 'CANCEL' else open_request.request_method end
        ) as cseq_method,

        -- parties and network
        ordered.from_user,
        ordered.to_user,
        ordered.source_ip,
        ordered.destination_ip

    from ordered
    left join positioned as open_request
        on ordered.sip_call_id = open_request.sip_call_id
        and ordered.open_request_position = open_request.position_in_dialog

)

select * from decoded
