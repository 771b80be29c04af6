-- Genesys calls rebuilt from their SIP dialogs (one per SIP Call-ID): started at the first
-- INVITE, answered at the first 2xx reply to an INVITE, ended at the BYE (else the BYE's reply;
-- for a call that was never answered, the final reply). A dialog whose INVITE was not loaded
-- (it lies before the loaded range) is left out: its start is unknown.
with messages as (

    select * from intermediate.genesys_sip_messages

),

dialogs as (

    select
        sip_call_id,
        min(conversation_id) as conversation_id,

        -- the first INVITE: when, and who called whom
        min(traced_at) filter (where request_method = 'INVITE') as started_at,
        arg_min(from_user, sequence) filter (where request_method = 'INVITE') as from_number,
        arg_min(to_user, sequence) filter (where request_method = 'INVITE') as to_number,

        -- replies to INVITEs
        min(traced_at) filter (where cseq_method = 'INVITE' and status_code between 200 and 299) as answered_at,
        arg_min(status_code, sequence) filter (where cseq_method = 'INVITE' and status_code between 200 and 299) as answer_code,
        arg_max(status_code, sequence) filter (where cseq_method = 'INVITE' and status_code >= 200) as final_code,
        arg_max(traced_at, sequence) filter (where cseq_method = 'INVITE' and status_code >= 200) as final_at,
        arg_max(status_code, sequence) filter (where cseq_method = 'INVITE' and status_code < 200) as provisional_code,

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
        sip_call_id as call_id,
        conversation_id,

        -- parties: SIP does not say which side is ours
        cast(null as varchar) as direction,
        from_number,
        to_number,

        -- timestamps
        started_at,
        answered_at,
        coalesce(bye_at, bye_reply_at, case when answered_at is null and final_code >= 300 then final_at end) as ended_at,

        -- status: the answering 2xx, else the last final reply (after any auth challenge), else
        -- the latest provisional reply, else 'INVITE'
        coalesce(
            cast(answer_code as varchar), cast(final_code as varchar), cast(provisional_code as varchar), 'INVITE'
        ) as status_raw,
        cast(null as boolean) as has_recording

    from dialogs
    where started_at is not null

)

select * from shaped
