"""Make ``ansible_collections.entra.licensing`` importable wherever the clone lives.

ansible-test and pytest-ansible need the collection under ``.../ansible_collections/entra/licensing``; a clone is
usually elsewhere, so a symlink farm under ``.tmp/collections`` points there and ANSIBLE_COLLECTIONS_PATH names it
(pytest-ansible's ``--ansible-unit-inject-only`` then installs Ansible's collection loader for the tests).
"""

import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent


def _collection_path() -> pathlib.Path:
    if ROOT.parent.name == "entra" and ROOT.parents[1].name == "ansible_collections":
        return ROOT.parents[2]
    farm = ROOT / ".tmp" / "collections"
    link = farm / "ansible_collections" / "entra" / "licensing"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(ROOT, target_is_directory=True)
    return farm


os.environ["ANSIBLE_COLLECTIONS_PATH"] = str(_collection_path())
