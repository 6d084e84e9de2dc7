import sys

from entra_sim.cli import main

sys.exit(main())
