"""The `mirror` command imports what every command needs and leaves the web server (Flask) to the commands
that serve: a sync or a status pays every import at start-up, and a sync's validation workers, were they to
run the command's script, would pay them too."""

import subprocess
import sys


def test_the_command_module_leaves_flask_to_the_commands_that_serve():
    check = "import sys, mirror.cli; print(sorted(name for name in ('flask', 'werkzeug', 'fhir') if name in sys.modules))"
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
