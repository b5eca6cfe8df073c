"""Sign-in timing: does an unknown name cost what a known name with a wrong password costs?

    .venv/bin/python bench/signin.py [--repeats 7]

`workflow.accounts.authenticate` verifies against a dummy hash of the same KDF and cost when the name is
unknown (or the account has no password), so a caller cannot tell "no such user" from "wrong password"
by the time the answer takes. tests/api/test_contract.py checks that the same KDF at the same cost runs
on every path; this script measures the times (best of N, SQLite file in the temp folder) and prints
their ratio last. Goal: unknown / known close to 1.0 (the old test's floor was 0.33).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import Session

from tests.factories import add_people
from workflow import accounts
from workflow.db import make_engine
from workflow.migrate import upgrade
from workflow.reference import sync_reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'signin.db'}")
        upgrade(engine)
        with Session(engine) as s:
            sync_reference(s)
            add_people(s, [("req.ne", ["requester"], "NE", None), ("no.password", ["analyst"], None, None)])
            accounts.update_user(s, username="req.ne", changes={"password": "correct horse battery"})

            def best(name: str) -> float:
                times = []
                for _ in range(args.repeats):
                    started = time.perf_counter()
                    with contextlib.suppress(accounts.NotAuthenticated):
                        accounts.authenticate(s, username=name, password="wrong password!")
                    times.append(time.perf_counter() - started)
                return min(times)

            best("nobody")  # warm the dummy hash (computed once per process)
            known, unknown, passwordless = best("req.ne"), best("nobody"), best("no.password")
        engine.dispose()
    print(f"wrong password (known user)  {known * 1000:8.1f} ms")
    print(f"unknown user                 {unknown * 1000:8.1f} ms")
    print(f"account without a password  {passwordless * 1000:8.1f} ms")
    print(f"ratio unknown / known: {unknown / known:.2f}  (no password / known: {passwordless / known:.2f})")


if __name__ == "__main__":
    main()
