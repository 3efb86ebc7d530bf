import sys

from omnitron_mock.cli import main

sys.exit(main())
