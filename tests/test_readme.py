"""The README as a new user reads it: install to a scan of one's own AWS account on the first
screen, an Install section right after, workflow snippets that work pasted into a repository
without certscan's files, and no link out of the repository."""

import re

import yaml

from tests.conftest import REPO

README = (REPO / "README.md").read_text()


def test_first_screen_goes_from_install_to_a_scan_of_ones_own_aws_account_in_three_commands():
    first_screen = README.splitlines()[:30]
    start = next(i for i, line in enumerate(first_screen) if line.startswith("## Quick start"))
    end = next(i for i, line in enumerate(first_screen) if i > start and line.startswith("## "))
    block = [line.strip() for line in first_screen[start:end] if line.startswith("    ") and line.strip()]
    clone = next(i for i, line in enumerate(block) if line.startswith("git clone "))
    commands = block[clone:clone + 3]
    assert len(commands) == 3, block
    assert commands[0].startswith("git clone ") and commands[1].startswith("pipx install ")
    assert "[aws]" in commands[1] and commands[2].startswith("certscan scan --aws")
    sections = re.findall(r"^## (.+)$", README, re.M)
    assert sections[:2] == ["Quick start", "Install"], sections


def test_no_link_leaves_the_repository():
    assert "../shared" not in README
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if not target.startswith(("http://", "https://", "mailto:")):
            assert (REPO / target).exists(), target


def test_workflow_snippets_are_yaml_pinned_and_need_no_certscan_files():
    blocks = re.findall(r"```yaml\n(.*?)```", README, re.S)
    uses = []
    for block in blocks:
        yaml.safe_load(block)
        uses += re.findall(r"uses:\s*(certscan/certscan@\S+)", block)
        assert not re.search(r"^\s*(rules|waivers|config):\s*\S*certscan/", block, re.M), block
    assert uses and all(re.fullmatch(r"certscan/certscan@[0-9a-f]{40}", u) for u in uses)
    assert "<owner>" not in README and "uses: ./" not in README
