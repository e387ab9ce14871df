"""A FastAPI endpoint that does no work: the floor every endpoint of ours stands on.

    .venv/bin/python -m uvicorn benchmarks.bare_app:app --host 127.0.0.1 --workers 1

``POST /bare`` takes a small pydantic body (checked, as every body is) and answers a
small JSON object; like riskflag's routes it is a plain ``def``, so FastAPI runs it in
its thread pool. ``GET /healthz`` tells the benchmark the server is up.
"""

from __future__ import annotations

from datetime import date

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field


class BareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    child_id: str = Field(min_length=1, max_length=128)
    as_of: date


app = FastAPI(title="bare")


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/bare")
def bare(body: BareRequest) -> dict[str, str]:
    return {"child_id": body.child_id}
