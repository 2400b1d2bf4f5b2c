"""`python -m builder.emulator`: see builder.emulator.main."""

import sys

from builder.emulator import main

sys.exit(main())
