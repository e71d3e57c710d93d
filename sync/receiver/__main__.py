"""Run the reference receiver: python -m sync.receiver --port P --db FILE --token TOKEN[:AGENCY]."""

import sys

from sync.receiver.cli import main

sys.exit(main(sys.argv[1:]))
