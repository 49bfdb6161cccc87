"""`python -m pocketsr.installers install|uninstall|doctor`."""

import sys

from pocketsr.installers.cli import main

sys.exit(main())
