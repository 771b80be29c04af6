-- Genesys calls rebuilt from their SIP dialogs (one per SIP Call-ID): started at the first
-- INVITE, answered at the first 2xx reply to an INVITE, ended at the BYE (else the BYE's reply;
-- for a call that was never answered, the final reply). A dialog whose INVITE was not loaded
-- (it lies before the loaded range) is left out: its start is unknown.
with messages as (

    select * from intermediate.genesys_sip_messages

),

dialogs as (

    -- per dialog, when things happened and the position (in the dialog) of the messages that
    -- decide the call; the messages themselves are joined below
    select
        sip_call_id,
        min(conversation_id) as dialog_conversation_id,

        -- the first INVITE: when, and which message (who called whom)
        min(traced_at) filter (where request_method = 'INVITE') as started_at,
        min(position_in_dialog) filter (where request_method = 'INVITE') as invite_position,

        -- replies to INVITEs: the first 2xx, the last final reply, the last provisional one
        min(traced_at) filter (where cseq_method = 'INVITE' and status_code between 200 and 299) as answered_at,
        min(position_in_dialog) filter (where cseq_method = 'INVITE' and status_code between 200 and 299) as answer_position,
        max(position_in_dialog) filter (where cseq_method = 'INVITE' and status_code >= 200) as final_position,
        max(position_in_dialog) filter (where cseq_method = 'INVITE' and status_code < 200) as provisional_position,

        -- the BYE and its reply
        min(traced_at) filter (where request_method = 'BYE') as bye_at,
        min(traced_at) filter (where cseq_method = 'BYE' and not is_request) as bye_reply_at

    from messages
    group by sip_call_id

),

shaped as (

    select
        -- ids
        'genesys' as vendor,
        dialogs.sip_call_id as call_id,
        dialogs.dialog_conversation_id as conversation_id,

        -- parties: SIP does not say which side is ours
        cast(null as varchar) as direction,
        first_invite.from_user as from_number,
        first_invite.to_user as to_number,

        -- timestamps
        dialogs.started_at,
        dialogs.answered_at,
        coalesce(
            dialogs.bye_at,
            dialogs.bye_reply_at,
            case when dialogs.answered_at is null and final_reply.status_code >= 300 then final_reply.traced_at end
        ) as ended_at,

        -- status: the answering 2xx, else the last final reply (after any auth challenge), else
        -- the latest provisional reply, else 'INVITE'
        coalesce(
            cast(answer.status_code as varchar),
            cast(final_reply.status_code as varchar),
            cast(provisional_reply.status_code as varchar),
            'INVITE'
        ) as status_raw,
        cast(null as boolean) as has_recording

    from dialogs
    left join messages as first_invite
        on dialogs.sip_call_id = first_invite.sip_call_id
        and dialogs.invite_position = first_invite.position_in_dialog
    left join messages as answer
        on dialogs.sip_call_id = answer.sip_call_id
        and dialogs.answer_position = answer.position_in_dialog
    left join messages as final_reply
        on dialogs.sip_call_id = final_reply.sip_call_id
        and dialogs.final_position = final_reply.position_in_dialog
    left join messages as provisional_reply
        on dialogs.sip_call_id = provisional_reply.sip_call_id
        and dialogs.provisional_position = provisional_reply.position_in_dialog
    where dialogs.started_at is not null

)

select * from shaped
