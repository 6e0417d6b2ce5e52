"""Start the web chat: `python app.py` (same as `samverkan-qa serve`)."""

import sys

from samverkan_qa.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
