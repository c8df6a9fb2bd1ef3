"""The QA re-drive: a recorded session's actions re-executed against another environment,
compared step by step with the recording."""
