import sys

from xl_addin.entrypoints.cli import main

sys.exit(main())
