"""The ship stage: sealed journals to WORM storage, confirmed, re-verified, held, disposed.

Modules: :mod:`~agent.ship.vault` (the ``Vault`` interface), :mod:`~agent.ship.urls`
(``open_vault``: vault URL → backend; ``memory://`` only for tests), backends
:mod:`~agent.ship.s3` and :mod:`~agent.ship.filevault`, :mod:`~agent.ship.posture`,
:mod:`~agent.ship.shipper` (the uploader), :mod:`~agent.ship.checkpoints`,
:mod:`~agent.ship.reverify`, :mod:`~agent.ship.holds`, :mod:`~agent.ship.scheduler`,
:mod:`~agent.ship.runtime` (assembly) and the fakes in :mod:`~agent.ship.testing`.
"""
