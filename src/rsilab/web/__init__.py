"""The local playground (``rsilab serve``): a Starlette app and its static page.

It calls the library only (scenario parser, Monte Carlo, store, report data) and is imported by
nothing but ``rsilab.cli.serve``. Needs the optional extra ``rsilab[web]`` (starlette, uvicorn).
"""
