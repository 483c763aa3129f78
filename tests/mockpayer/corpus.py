"""Plan folders that serve the real examples (tests/example_data.py) in place, linked rather than copied."""

import json
import os
import shutil
from pathlib import Path


def write_plan(root: Path, system_id: str, *, data: list[Path] = (), directory: list[Path] = (),
               members: list[dict] = ()) -> Path:
    """A plan folder whose data/ and directory/ link to example files (symlinks: nothing is copied), which
    plan.json lets the mock follow out of the plan folder."""
    folder = root / system_id
    for kind, files in (("data", data), ("directory", directory)):
        (folder / kind).mkdir(parents=True, exist_ok=True)
        for index, source in enumerate(files):
            target = folder / kind / f"{index:04d}-{source.name}"
            try:
                os.symlink(source, target)
            except OSError:
                shutil.copyfile(source, target)
    plan = {
        "system_id": system_id, "name": f"Corpus plan {system_id}", "base_url": f"{system_id}.example",
        "clients": [{"client_id": "corpus-app", "client_secret": "corpus-secret",
                     "redirect_uris": ["http://127.0.0.1/callback"]}],
        "members": list(members), "follow_symlinks": True,
    }
    (folder / "plan.json").write_text(json.dumps(plan))
    return folder
