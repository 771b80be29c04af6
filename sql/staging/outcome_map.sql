-- The one reviewed place where vendor statuses become call outcomes (a seed written as SQL).
--
-- reporting.calls looks a call up by (vendor, status) where status is its status_raw; for SIP
-- codes a row may name a whole class ('4xx'), used when no row names the exact code. The
-- qualifier columns narrow a row to answered / ended calls (NULL: either). A status with no row
-- becomes outcome 'unknown' -- never a silent 'missed' -- and `callhouse check` fails on it
-- until a row is added here.
select
    outcome_map.vendor,
    outcome_map.status,
    outcome_map.when_answered,
    outcome_map.when_ended,
    outcome_map.outcome,
    outcome_map.meaning

from (

    -- The rows are a table, aligned in columns for review; a long `meaning` stays on its row. The
    -- column names follow the rows (`as outcome_map (...)`), a spelling every engine reads.
    -- noqa: disable=LT01,LT05
    values

    -- CINNOX call-detail `status` (vendor-apis.md §1). CINNOX does not say when a call was answered.
    ('cinnox',    'Call Ended',   null,  null,  'answered', 'connected and ended normally'),
    ('cinnox',    'Abandoned',    null,  null,  'missed',   'connected to IVR, voicemail or hold; the caller hung up before a person took it'),
    ('cinnox',    'Not Answered', null,  null,  'missed',   'rang out (may have gone to voicemail)'),
    ('cinnox',    'Cancelled',    null,  null,  'missed',   'the caller hung up while it rang'),
    ('cinnox',    'Busy',         null,  null,  'missed',   'the callee was busy'),
    ('cinnox',    'Declined',     null,  null,  'missed',   'the callee declined'),
    ('cinnox',    'Unreachable',  null,  null,  'failed',   'the callee could not be reached (not found, offline)'),
    ('cinnox',    'Call Failed',  null,  null,  'failed',   'a network or service failure'),

    -- Bandwidth `state` (vendor-apis.md §2); answered = activeTime is present.
    ('bandwidth', 'started',      null,  null,  'active',   'ringing'),
    ('bandwidth', 'active',       null,  null,  'active',   'answered and in progress'),
    ('bandwidth', 'transferring', null,  null,  'active',   'being transferred'),
    ('bandwidth', 'completed',    true,  null,  'answered', 'answered, then hung up'),
    ('bandwidth', 'completed',    false, null,  'missed',   'ended without being answered'),
    ('bandwidth', 'rejected',     null,  null,  'missed',   'rejected before it was answered'),

    -- Genesys: the final SIP reply to the INVITE (the last one, after any auth challenge), the
    -- latest provisional reply while there is no final one, or 'INVITE' when nothing replied yet.
    ('genesys',   '2xx',          null,  true,  'answered', 'answered, then a BYE'),
    ('genesys',   '2xx',          null,  false, 'active',   'answered, no BYE yet'),
    ('genesys',   '1xx',          null,  null,  'active',   'trying or ringing, no final reply yet'),
    ('genesys',   'INVITE',       null,  null,  'active',   'INVITE sent, no reply yet'),
    ('genesys',   '408',          null,  null,  'missed',   'Request Timeout: nobody answered in time'),
    ('genesys',   '480',          null,  null,  'missed',   'Temporarily Unavailable: no answer'),
    ('genesys',   '486',          null,  null,  'missed',   'Busy Here'),
    ('genesys',   '487',          null,  null,  'missed',   'Request Terminated: the caller cancelled while it rang'),
    ('genesys',   '600',          null,  null,  'missed',   'Busy Everywhere'),
    ('genesys',   '603',          null,  null,  'missed',   'Decline'),
    ('genesys',   '3xx',          null,  null,  'failed',   'redirected and not followed'),
    ('genesys',   '4xx',          null,  null,  'failed',   'request failure (404 Not Found, 407 auth challenge never answered, ...)'),
    ('genesys',   '5xx',          null,  null,  'failed',   'server failure (503 Service Unavailable, ...)'),
    ('genesys',   '6xx',          null,  null,  'failed',   'global failure')

    -- noqa: enable=LT01,LT05

) as outcome_map (vendor, status, when_answered, when_ended, outcome, meaning)
