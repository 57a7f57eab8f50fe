#!/usr/bin/env bash
# Regenerate src/template/resource_types.txt: every CloudFormation resource type of every
# region, from the resource schemas that the cfn-lint package (PyPI) ships. `validate` rejects
# an AWS:: type not in this list. Run after `make tools` (or with any Python that has cfn-lint).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
"$python" - <<'PY' > src/template/resource_types.txt
import glob, json, os, cfnlint
providers = os.path.join(os.path.dirname(cfnlint.__file__), "data", "schemas", "providers")
types = set()
for path in glob.glob(os.path.join(providers, "*.json")):
    with open(path) as f:
        types.update(json.load(f))
print(f"# CloudFormation resource types (cfn-lint {cfnlint.version.__version__}); scripts/resource-types.sh")
for t in sorted(types):
    print(t)
PY
echo "src/template/resource_types.txt: $(grep -vc '^#' src/template/resource_types.txt) types"
