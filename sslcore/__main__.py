"""`python -m sslcore`: the same CLI as the `sslcore` command."""

from sslcore.cli import main

raise SystemExit(main())
