import sys

from tells.cli.main import main

sys.exit(main())
