"""`python -m builder`: see builder.cli."""

from builder.cli import exit_now, main

exit_now(main())
