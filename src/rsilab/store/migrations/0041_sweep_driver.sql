-- One driver per sweep. The driver running a sweep's cells holds a claim on it ('host:pid') and
-- refreshes its heartbeat; a second driver that finds a live claim stops before running any cell,
-- so two drivers never run (and record) the same cells.
ALTER TABLE sweeps ADD COLUMN driver TEXT;        -- 'host:pid' of the driver running it, NULL when none
ALTER TABLE sweeps ADD COLUMN driver_seen REAL;   -- the claim's last heartbeat (unix time)
