"""`make demo`: serve the local stack, score the guide's two-row sample through the gateway,
print the predictions, stop. `python -m mldeploy.runtime.demo [project dir]`"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    mldeploy = str(Path(sys.executable).parent / "mldeploy")
    sample = root / "examples" / "diabetes" / "sample-request.json"
    serve = subprocess.Popen([mldeploy, "serve", "--stack", "local", "--port", "0", "--json",
                              "--project-dir", str(root)], stdout=subprocess.PIPE, text=True)
    try:
        line = serve.stdout.readline()
        if not line:
            return serve.wait() or 1
        endpoint = json.loads(line)
        print(f"served at {endpoint['scoringUri']} (swagger: {endpoint['swaggerUri']})")
        print(f"scoring {sample.relative_to(root)}: {sample.read_text().strip()}")
        test = subprocess.run([mldeploy, "test", "--uri", endpoint["scoringUri"], "--key", endpoint["primaryKey"],
                               "--data", str(sample)], capture_output=True, text=True)
        if test.returncode != 0:
            print(test.stderr.strip(), file=sys.stderr)
            return 1
        print(f"predictions: {test.stdout.strip()}")
        return 0
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)


if __name__ == "__main__":
    sys.exit(main())
