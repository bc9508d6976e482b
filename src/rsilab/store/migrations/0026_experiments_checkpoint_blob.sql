-- A checkpoint may carry binary state (e.g. serialised model weights) beside its JSON state,
-- so every experiment keeps its resume state in the store, in one table.
ALTER TABLE experiment_checkpoints ADD COLUMN blob BLOB
