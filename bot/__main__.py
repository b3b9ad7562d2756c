"""`python -m bot` is the `paperchat` command."""

from bot.cli import main

raise SystemExit(main())
