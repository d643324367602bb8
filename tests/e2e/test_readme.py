"""The README's walkthrough is executable documentation: its bash blocks run here, as written, through the gateway."""

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def bash_blocks(heading: str) -> list[str]:
    """The ```bash blocks of the README section whose heading starts with `heading`, as written."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split(f"\n## {heading}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, flags=re.S)


def section_script(heading: str) -> str:
    """The walkthrough's first block (an account and a token), then the section's blocks as written."""
    blocks = bash_blocks(heading)
    assert blocks, f"the {heading!r} section lost its code block"
    return bash_blocks("Walkthrough\n")[0] + "\n".join(blocks)


def run_as_written(stack, script: str, *, timeout: int = 180) -> str:
    """Run `script` in bash against the stack's gateway, failing on the first failing command; its stdout."""
    result = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        cwd=ROOT,
        env={**os.environ, "BASE": stack.gateway_url},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{stack.logs()}"
    return result.stdout


def seed_demo(stack) -> None:
    """What `make run` does before serving."""
    stack.manage("seed_demo", "--users", "5", "--images", "1")


@pytest.mark.parametrize("stack_name", ["full_stack", "embedded_stack"])
def test_readme_walkthrough_runs_as_written(stack_name, request):
    blocks = bash_blocks("Walkthrough\n")
    assert len(blocks) >= 3, "the walkthrough lost its code blocks"
    stack = request.getfixturevalue(stack_name)
    seed_demo(stack)
    output = run_as_written(stack, "\n".join(blocks))
    assert '"username":"dana"' in output and '"email":"dana@example.com"' in output
    assert '"status":"ready"' in output
    assert '"text":"Hello, SocialNet!"' in output
    assert '"text":"Nice!"' in output
    assert re.search(r"\d+ premium locked", output), "alice's premium post is listed locked"
    assert '"invalid_grant"' in output, "the rotated refresh token is refused"
    assert output.rstrip().endswith("401"), "the revoked token is refused"


@pytest.mark.parametrize("stack_name", ["full_stack", "embedded_stack"])
def test_readme_safety_section_runs_as_written(stack_name, request):
    stack = request.getfixturevalue(stack_name)
    seed_demo(stack)
    output = run_as_written(stack, section_script("Safety: "))
    lines = output.splitlines()
    assert '"username":"bob"' in output  # the block's 201 body: bob's profile
    assert "404" in lines and lines.count("204") == 2  # bob hidden; unblock and unmute
    assert '"notifications":true' in output and '"expires_at":"' in output  # the mute
    assert '"blocking":false' in output and '"muting":true' in output  # relationships while muted
    assert '"phrase":"spoiler"' in output and '"context":["home","thread"]' in output
    assert '"is_private":true' in output
    assert '"is_private":false' in output.splitlines()[-1]  # public again at the end, for the sections after


@pytest.mark.parametrize("stack_name", ["full_stack", "embedded_stack"])
def test_readme_discovery_section_runs_as_written(stack_name, request):
    stack = request.getfixturevalue(stack_name)
    seed_demo(stack)
    output = run_as_written(stack, section_script("Discovery: "))
    lines = output.splitlines()
    assert '"tags":["Photography"]' in output and '"username":"alice"}]' in output  # the 201's tags and mentions
    assert '"name":"Photography"' in output and '"following":true' in output  # detail, then the follow
    assert '"accounts_count":' in output  # trending
    assert "Sunrise over the harbour" in lines[-4]  # the full-text search found the post
    assert '"username":"alice"' in lines[-3]  # the account search
    assert lines[-2:] == ["204", "400"]


def recovery_blocks() -> tuple[str, str]:
    """The README's Account recovery block, cut where the reader pastes the token from the printed email."""
    (block,) = bash_blocks("Account recovery\n")
    ask, confirm = block.split("RESET_TOKEN=", 1)
    return ask, "RESET_TOKEN=" + confirm


def test_readme_account_recovery_runs_as_written(embedded_stack):
    """Embedded mode, as the README says: the reset email is printed by the server; its token resets once."""
    stack = embedded_stack
    seed_demo(stack)
    ask, confirm = recovery_blocks()

    def run(script: str) -> str:
        return run_as_written(stack, script, timeout=60)

    assert '"detail"' in run(ask)
    printed = ""
    for _ in range(100):  # the email is sent after the response, by a task run in the server's process
        printed = "".join(path.read_text(errors="replace") for path in stack.workdir.glob("*.log"))
        tokens = re.findall(r"/accounts/reset-password/\?token=([\w.:-]+)", printed)
        if tokens:
            break
        time.sleep(0.1)
    assert tokens, f"no reset link was printed:\n{stack.logs()}"
    confirm = confirm.replace("paste-the-token-from-the-link", tokens[-1])
    assert run(confirm).split() == ["204"]
    assert run(confirm).split() == ["400"]  # single use
