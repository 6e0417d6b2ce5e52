import sys

from samverkan_qa.cli import main

sys.exit(main())
