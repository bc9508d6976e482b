-- What a report needs and a run's summary does not hold: per-sample outcomes in compact form
-- and quantile bands on the output grid, as one compressed numpy .npz blob per run, so that
-- a report never re-runs anything. format names the layout ('ensemble-npz/1').
CREATE TABLE run_arrays (
  run_id INTEGER PRIMARY KEY REFERENCES runs(id),
  format TEXT NOT NULL,
  data BLOB NOT NULL,
  created_at REAL NOT NULL
)
