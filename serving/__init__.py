"""Models and a case-history store in, scores and explanations out (FastAPI, SQLAlchemy).

So far this package holds only the `riskflag` command that gathers every package's
subcommands; the service arrives with issue 5.
"""
