-- What each vendor has loaded: a day or hour outside these ranges was never read, so the
-- absence of calls there says nothing (see daily_calls.complete and hourly_concurrency).
select
    vendor,
    loaded_from,
    loaded_until

from staging.loaded_ranges
