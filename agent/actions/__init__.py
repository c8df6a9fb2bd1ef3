"""What a person did, in words: the one derivation from journal records to actions."""

from agent.actions.model import Action, CausedRequest, Target

__all__ = ["Action", "CausedRequest", "Target"]
