"""Bring the course's lessons into a participant's home without clobbering their work.

Runs as the participant each time their server starts (``start_server``). A file
the participant never had is copied; a file still as it was copied is updated to
the course's current version; a file the participant changed is kept, and a
changed course version is put beside it as ``NAME.course-update.EXT``. What was
copied is remembered in ``.dlcourse-sync.json`` in the destination folder.
"""

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

MANIFEST = ".dlcourse-sync.json"
SKIP = {".ipynb_checkpoints", "__pycache__"}


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def sync(source, dest):
    """Copy ``source`` into ``dest`` by the rules above; return {"copied", "updated",
    "kept"}: the relative paths of each kind."""
    source, dest = Path(source), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    manifest_path = dest / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        manifest = {}
    out = {"copied": [], "updated": [], "kept": []}
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP)
        for name in sorted(filenames):
            src = Path(dirpath, name)
            rel = str(src.relative_to(source))
            target = dest / rel
            new = _digest(src)
            if target.is_symlink() or (target.exists() and not target.is_file()):
                out["kept"].append(rel)
                continue
            if not target.exists():
                kind = "copied"
            elif _digest(target) == new:
                manifest[rel] = new
                continue
            elif manifest.get(rel) == _digest(target):
                kind = "updated"
            else:  # the participant's own version: never overwritten
                if manifest.get(rel + "@course") != new:
                    side = target.with_name(f"{target.stem}.course-update{target.suffix}")
                    shutil.copyfile(src, side)
                    manifest[rel + "@course"] = new
                out["kept"].append(rel)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
            manifest[rel] = new
            out[kind].append(rel)
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return out


if __name__ == "__main__":  # python -m grader.workshop.sync SOURCE DEST
    if len(sys.argv) != 3:
        sys.exit("usage: python -m grader.workshop.sync SOURCE DEST")
    print(sync(sys.argv[1], sys.argv[2]))
