-- The time ranges each vendor has loaded and committed (callhouse.loaded_ranges, rewritten by
-- every load checkpoint and view build): time-bucketed views only report inside them.
select
    source as vendor,
    loaded_from,
    loaded_until

from callhouse.loaded_ranges
