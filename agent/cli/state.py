"""Global CLI options, in their own module so ``python -m agent.cli.main`` shares them."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # agent.config imports every stage's section: load it only when needed
    from agent.config import Config


@dataclass
class State:
    """Global options, resolved lazily so `--help` never touches the state directory."""

    home_opt: Path | None = None
    config_opt: Path | None = None
    _config: Config | None = None

    @property
    def home(self) -> Path:
        from agent.config import default_home

        return self.home_opt or default_home()

    @property
    def config(self) -> Config:
        if self._config is None:
            from agent.config import load_config

            self._config = load_config(self.config_opt, home=self.home)
            for line in self._config.warnings:  # overrides the system policy kept out
                print(line, file=sys.stderr)
        return self._config

    def use_config(self, config: Config) -> None:
        """Run the rest of this command under ``config`` (the demo adds its firm recipient)."""
        self._config = config

    def reset(self) -> None:
        """Forget the global options and the loaded config, as a fresh process would.

        The in-process CLI (tests calling ``main()`` repeatedly) would otherwise reuse the
        previous invocation's ``--home``, ``--config`` and loaded configuration.
        """
        self.home_opt = None
        self.config_opt = None
        self._config = None
        from agent.journal.store import forget_read_restored

        forget_read_restored()


STATE = State()
