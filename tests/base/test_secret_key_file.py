"""The generated key file: processes that start together share one key, written privately."""

from __future__ import annotations

import os
import stat
import threading

from addon.base.core.crypto import _key_from_file


def test_processes_starting_together_share_one_generated_key(tmp_path):
    for trial in range(30):
        path = tmp_path / f"var{trial}" / "secret.key"
        start, keys, errors = threading.Barrier(8), [], []

        def read_or_make():
            start.wait()
            try:
                keys.append(_key_from_file(path))
            except Exception as exc:  # noqa: BLE001  (collected for the assertion)
                errors.append(exc)

        threads = [threading.Thread(target=read_or_make) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == [] and len(set(keys)) == 1, (errors, len(set(keys)))
        assert path.read_bytes().strip() == keys[0]
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert [p.name for p in path.parent.iterdir()] == ["secret.key"]  # no temporary file left behind
