"""The compute-centric takeoff model (Davidson 2023; Epoch's FTM), vectorised over samples.

``params`` declares the parameters, ``requirements`` places each task's compute needs,
``allocation`` solves the optimal labour/compute split over tasks, ``economy`` steps the
economy, ``metrics`` reads the model's own metrics off the series and ``model`` is what a
scenario names as ``ftm``. numpy only; imports nothing of ours but the model base and errors.
"""
