"""Collectors: one module per source family, pure ``parse_*`` functions plus an httpx fetcher.

Public entry points: :func:`service.collect.registry.check_options`,
:func:`service.collect.registry.build_collector` and :class:`service.collect.runner.CollectionRunner`.
"""
