import sys

from actkeras.cli import main

sys.exit(main())
