"""Demo data: a simulated pathfinder written through the real service functions (`sctac demo`).

Not part of the domain: nothing in `workflow/` imports it. It sits above `workflow/` (and beside
`notifications/`): api -> demo -> workflow.
"""
