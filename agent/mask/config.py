"""The ``[mask]`` section of sessiontape.toml (the rules themselves live in masking.toml)."""

from __future__ import annotations

from pydantic import Field

from agent.configbase import Section


class MaskConfig(Section):
    rules_file: str = ""  # masking rules TOML; empty = the shipped config/masking.toml
    hmac_key_file: str = ""  # tokenization secret; empty = <home>/keys/mask_hmac.key
    token_cache_size: int = Field(65536, ge=0)  # LRU entries for tokens and scanned strings
