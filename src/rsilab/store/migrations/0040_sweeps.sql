-- A sweep is one row; each grid cell is one row of sweep_cells, pointing at the run that
-- recorded it once it has finished (or failed). A cell's run, its rounds and its 'finished'
-- status are written in one transaction, so a cell is never half-recorded or recorded twice.
CREATE TABLE sweeps (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  experiment TEXT NOT NULL,
  profile TEXT NOT NULL,
  source TEXT,                   -- the sweep file it was read from
  spec_json TEXT NOT NULL,       -- experiment, profile, grid, fixed, timeout_s
  created_at REAL NOT NULL,
  status TEXT NOT NULL           -- 'running', 'finished' (every cell finished), 'incomplete'
);
CREATE TABLE sweep_cells (
  sweep_id INTEGER NOT NULL REFERENCES sweeps(id),
  cell INTEGER NOT NULL,         -- 0-based position in the grid's product order
  values_json TEXT NOT NULL,     -- the config fields this cell sets (grid and fixed)
  status TEXT NOT NULL,          -- 'pending', 'running', 'finished', 'failed'
  run_id INTEGER REFERENCES runs(id),
  parameters REAL,               -- the cell's model size, as its experiment declares it
  seconds REAL,                  -- wall time of the cell on its worker
  error TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  updated_at REAL NOT NULL,
  PRIMARY KEY (sweep_id, cell)
)
