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

staff_names as (

    -- each member's name on their latest call that has one (newest first: recency 1)
    select
        staff_id,
        display_name,
        row_number() over (partition by staff_id order by started_at desc, display_name asc) as recency
    from staff_sightings
    where display_name is not null and started_at is not null

),

staff_departments as (

    -- each member's department on their latest call that has one
    select
        staff_id,
        department,
        row_number() over (partition by staff_id order by started_at desc, department asc) as recency
    from staff_sightings
    where department is not null and started_at is not null

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
        -- timezone(zone, instant) is the local wall-clock time: its date is the local day
        cast(timezone(settings.timezone, calls.started_at) as date) as day,
        calls.outcome,
        calls.talk_s
    from calls
    inner join call_detail on calls.call_id = call_detail.call_id
    cross join settings

),

daily as (

    select
        attributed.day,
        attributed.staff_id,
        staff_names.display_name,
        staff_departments.department,
        count(*) as calls,
        count(*) filter (where attributed.outcome = 'answered') as answered,
        coalesce(sum(attributed.talk_s), 0) as talk_s_total
    from attributed
    left join staff_names
        on attributed.staff_id = staff_names.staff_id
        and staff_names.recency = 1
    left join staff_departments
        on attributed.staff_id = staff_departments.staff_id
        and staff_departments.recency = 1
    where attributed.staff_id is not null
    group by attributed.day, attributed.staff_id, staff_names.display_name, staff_departments.department

)

select * from daily
