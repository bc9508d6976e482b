-- The box's append-only, hash-chained audit log. seq counts 1, 2, 3... without gaps;
-- hash = sha256(prev_hash || canonical JSON of (seq, experiment, kind, created_at, body)).
CREATE TABLE box_audit (
  seq INTEGER PRIMARY KEY,
  experiment TEXT NOT NULL,
  kind TEXT NOT NULL,            -- run, refusal, proposal, decision, outcome, policy
  created_at REAL NOT NULL,
  body_json TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX box_audit_experiment ON box_audit(experiment, kind);
-- Proposals are mutable working state (pending -> approved/rejected -> adopted);
-- every change of state is also an audit record, and the audit record is what counts.
CREATE TABLE box_proposals (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  experiment TEXT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,          -- pending, approved, rejected, adopted, abandoned
  created_at REAL NOT NULL,
  summary TEXT NOT NULL,
  diff TEXT NOT NULL,
  diff_sha256 TEXT NOT NULL,
  candidate_sha256 TEXT,
  checks_json TEXT NOT NULL,
  needs_human INTEGER NOT NULL,
  decided_at REAL,
  decided_by TEXT,
  reason TEXT,
  audit_seq INTEGER NOT NULL
);
CREATE INDEX box_proposals_status ON box_proposals(experiment, status);
-- The approval policy in force per experiment; changing it needs a person (a 'policy' proposal).
CREATE TABLE box_policies (
  experiment TEXT PRIMARY KEY,
  policy_json TEXT NOT NULL,
  policy_sha256 TEXT NOT NULL,
  set_at REAL NOT NULL,
  set_by TEXT NOT NULL
)
