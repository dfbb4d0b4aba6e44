#!/usr/bin/env python3
"""Entry script hearthd runs:

    python3 plugins/python/hearth_zygote.py --control-fd 3 --death-fd 4 --app MODULE:CALLABLE
        [--preload|--no-preload] [--chdir DIR] [--pythonpath DIR]... --threads T [--generation G]

Run as a script, its own directory (plugins/python) is sys.path[0], so the runtime package
imports; the app's --chdir and --pythonpath entries are then put in front of it.
"""

import sys

from hearth_worker.zygote import main

if __name__ == "__main__":
    sys.exit(main())
