import sys

from imvideoedit.cli import main

sys.exit(main())
