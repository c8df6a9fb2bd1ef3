"""The firm's compliance console: officers and examiners sign in, search, replay, review, hold,
reveal and export every workstation's records, read from the WORM vault with the firm key."""
