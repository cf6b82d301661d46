import sys

from gradguess.cli import main

sys.exit(main())
