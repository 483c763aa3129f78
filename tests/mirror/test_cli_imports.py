"""The `mirror` command imports what every command needs and leaves the rest to the commands that use it: the
web server (Flask) to those that serve, the sync engine and the HTTP and OAuth stacks (requests, authlib) to
those that talk to a plan. Every command pays its imports at start-up (with all of them, `mirror --help` took
twice as long), and a sync's validation workers, were they to run the command's script, would too."""

import subprocess
import sys


def test_the_command_module_leaves_the_server_the_engine_and_the_http_stack_to_the_commands_that_use_them():
    left = ("flask", "werkzeug", "fhir", "requests", "urllib3", "authlib", "mirror.sync.engine")
    check = f"import sys, mirror.cli; print(sorted(name for name in {left!r} if name in sys.modules))"
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
