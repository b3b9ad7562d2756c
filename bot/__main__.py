"""`python -m bot` is the `paperchat` command."""

from bot.surfaces.cli import main

raise SystemExit(main())
