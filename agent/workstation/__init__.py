"""The trader workstation service: ``sessiontape agent`` records the user's own browser all day.

One process per desktop user opens a recording session (recovering what a crashed agent
left), launches a visible Chromium on a persistent profile at the configured start pages,
records everything done in it, relaunches it after a crash (and, by policy, after the user
closes it), and runs the ship and index jobs beside it until SIGTERM/SIGINT.
"""
