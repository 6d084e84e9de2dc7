"""Offline stand-in for https://ci-files.testing.ansible.com/ansible-test/get-pip-24.2.py.

ansible-test bootstraps pip into every sanity virtual environment by downloading that script, and the host is not
reachable from our machines. `make sanity` downloads the pip wheel from PyPI and installs this file in ansible-test's
cache as get_pip_24_2.py; it runs pip from the wheel. ansible-test calls it as `<pip options> pip==24.2
--no-setuptools --no-wheel`.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pip-24.2-py3-none-any.whl"))

from pip._internal.cli.main import main  # noqa: E402

ARGS = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", *ARGS]))
