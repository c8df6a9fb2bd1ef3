"""The mask stage (capture -> **mask** -> journal): redact, tokenize, escrow.

Public API: :class:`Masker`, :class:`MaskingSink`, :func:`load_rules_file`,
:func:`mask_screenshot_regions`, :func:`agent.mask.reveal.reveal`.
"""

from agent.mask.masker import Masker
from agent.mask.rules import load_rules_file
from agent.mask.screenshot import mask_screenshot_regions
from agent.mask.sink import MaskingSink
from agent.mask.strings import MARKER

__all__ = ["MARKER", "Masker", "MaskingSink", "load_rules_file", "mask_screenshot_regions"]
