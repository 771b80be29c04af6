-- CINNOX calls per local day (REPORTING__TIMEZONE) and staff member: the member who last
-- handled the call, else the one on our side of it (the callee of an inbound call, the caller
-- of an outbound one).
with call_detail as (

    select * from staging.cinnox_call_detail

),

calls as (

    select * from reporting.calls
    where vendor = 'cinnox'

),

settings as (

    select * from staging.reporting_settings

),

staff_sightings as (

    select
        from_staff_id as staff_id,
        from_display_name as display_name,
        from_department as department,
        started_at
    from call_detail
    where from_staff_id is not null

    union all

    select
        to_staff_id,
        to_display_name,
        to_department,
        started_at
    from call_detail
    where to_staff_id is not null

),

staff as (

    -- the name and department each member had on their latest call
    select
        staff_id,
        arg_max(display_name, started_at) as display_name,
        arg_max(department, started_at) as department
    from staff_sightings
    group by staff_id

),

attributed as (

    select
        coalesce(
            call_detail.last_handled_staff_id,
            case lower(call_detail.direction)
                when 'inbound' then call_detail.to_staff_id
                when 'outbound' then call_detail.from_staff_id
            end
        ) as staff_id,
        calls.started_at,
        calls.outcome,
        calls.talk_s
    from calls
    inner join call_detail on calls.call_id = call_detail.call_id

),

daily as (

    select
        cast(timezone(settings.timezone, attributed.started_at) as date) as day,
        attributed.staff_id,
        staff.display_name,
        staff.department,
        count(*) as calls,
        count(*) filter (where attributed.outcome = 'answered') as answered,
        coalesce(sum(attributed.talk_s), 0) as talk_s_total
    from attributed
    cross join settings
    left join staff on attributed.staff_id = staff.staff_id
    where attributed.staff_id is not null
    group by all

)

select * from daily
