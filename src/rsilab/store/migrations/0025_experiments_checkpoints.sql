CREATE TABLE experiment_checkpoints (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  round INTEGER NOT NULL,        -- the state after this finished round
  state_json TEXT NOT NULL,
  created_at REAL NOT NULL,
  PRIMARY KEY (run_id, round)
)
