"""``python -m smhp.pipeline.quality``: see :mod:`smhp.pipeline.quality.cli`. The worker
exits without the interpreter's teardown (``smhp.exiting``): the nightly run waits for it."""

from smhp.exiting import exit_now
from smhp.pipeline.quality.cli import main

exit_now(main())
