CREATE TABLE runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,            -- 'forecast', 'sensitivity', 'experiment:<name>', 'fit:<what>'
  name TEXT NOT NULL,            -- scenario or experiment name
  created_at REAL NOT NULL,
  seed INTEGER,
  version TEXT NOT NULL,         -- rsilab version that wrote the run
  config_json TEXT NOT NULL,
  summary_json TEXT NOT NULL,
  timings_json TEXT NOT NULL,
  status TEXT NOT NULL           -- 'running', 'finished', 'failed'
);
CREATE INDEX runs_kind ON runs(kind);
CREATE TABLE rounds (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  round INTEGER NOT NULL,
  capability REAL NOT NULL,
  compute_flop REAL,
  seconds REAL,
  record_json TEXT NOT NULL,
  created_at REAL NOT NULL,
  PRIMARY KEY (run_id, round)
)
