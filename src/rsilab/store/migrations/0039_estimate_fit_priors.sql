-- A fit's prior ({"quantity", "spec", "source"}), kept with the fit's run: `rsilab forecast
-- --returns-from RUN` reads it here, so a measured prior travels through the store and no file
-- has to be carried between `rsilab fit` and `rsilab forecast`. Apart from the run's summary
-- because an empirical prior holds thousands of draws that `rsilab runs` should not print.
CREATE TABLE fit_priors (
  run_id INTEGER PRIMARY KEY REFERENCES runs(id),
  quantity TEXT NOT NULL,
  prior_json TEXT NOT NULL
)
