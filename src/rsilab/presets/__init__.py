"""The shipped scenarios (TOML files read by rsilab.simulate.scenario.load_preset)."""
