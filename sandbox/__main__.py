"""``python -m sandbox`` = ``omniops sandbox``."""

from __future__ import annotations

import sys

from sandbox.server import main

sys.exit(main())
