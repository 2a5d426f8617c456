"""``python -m smhp.pipeline.quality``: see :mod:`smhp.pipeline.quality.cli`."""

import sys

from smhp.pipeline.quality.cli import main

sys.exit(main())
