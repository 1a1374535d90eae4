"""README.md and docs/*.md name only what exists: make targets, environment variables, console
script commands, files and anchors; the README stays short and no doc carries a diary."""

import re
from pathlib import Path

import pytest

from notification_consumer import cli as consumer_cli
from tools import config_doc
from transaction_api import cli as api_cli

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Linked before they exist (other documents in progress): drop a name once its file lands.
PLANNED: set[str] = set()
# Upper-case words with an underscore that are values, not variables.
NOT_VARIABLES = {"SASL_PLAINTEXT", "SASL_SSL"}
# Files where scripts read their environment (besides the Settings classes).
SCRIPT_GLOBS = ["Makefile", ".ci/run", "deploy/**/*.sh", "deploy/**/*.py", "bench/**/*.py",
                "tests/**/*.py", "shared/**/*.py", "services/**/*.py", "docker-compose*.yml"]


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def code(doc: str) -> str:
    """Inline code spans and fenced blocks: where commands and names are shown."""
    fenced = re.findall(r"```[a-z]*\n(.*?)```", doc, re.DOTALL)
    inline = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", doc, flags=re.DOTALL))
    return "\n".join(fenced + inline)


def all_code() -> dict[str, str]:
    return {str(path.relative_to(ROOT)): code(text(path)) for path in DOCS}


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", text(ROOT / "Makefile"), re.MULTILINE))


def settings_variables() -> set[str]:
    return {name.upper() for settings in config_doc.SERVICES.values()
            for name in settings.model_fields}


def read_variables(source: str) -> set[str]:
    """Variables a shell or Python source reads."""
    return (set(re.findall(r"\$\{?([A-Z][A-Z0-9_]+)", source))
            | set(re.findall(r"(?:environ(?:\.get)?\(?\[?|getenv\()\s*[\"']([A-Z][A-Z0-9_]+)",
                             source)))


def script_variables() -> set[str]:
    found: set[str] = set()
    # Secret keys the Kubernetes manifests read by name (KEDA's TriggerAuthentication).
    for path in ROOT.glob("deploy/kubernetes/**/*.yaml"):
        found |= set(re.findall(r"\bkey: ([A-Z][A-Z0-9_]+)", text(path)))
    for pattern in SCRIPT_GLOBS:
        for path in ROOT.glob(pattern):
            if path.is_file() and not {".venv", ".local"} & set(path.parts):
                found |= read_variables(text(path))
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    heading = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return heading.replace(" ", "-")


def test_the_readme_fits() -> None:
    lines = text(ROOT / "README.md").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; move detail into docs/"
    readme = code(text(ROOT / "README.md"))
    assert "make up" in readme and "make test" in readme and "docker compose up" in readme


@pytest.mark.parametrize("doc", [str(p.relative_to(ROOT)) for p in DOCS])
def test_make_targets_exist(doc: str) -> None:
    named = set(re.findall(r"\bmake ([a-z][a-z-]*)", all_code()[doc]))
    missing = named - make_targets()
    assert not missing, f"{doc} shows make targets the Makefile lacks: {sorted(missing)}"


@pytest.mark.parametrize("doc", [str(p.relative_to(ROOT)) for p in DOCS])
def test_environment_variables_exist(doc: str) -> None:
    # An example may read a variable of its own (the webhook receiver's secret).
    known = settings_variables() | script_variables() | read_variables(all_code()[doc])
    named = set(re.findall(r"\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(_\*)?", all_code()[doc]))
    missing = []
    for name, wildcard in named:
        if name in NOT_VARIABLES or name.startswith("OTEL_"):
            continue  # the OpenTelemetry SDK reads its own variables
        if wildcard and any(k.startswith(name + "_") for k in known):
            continue
        if name not in known:
            missing.append(name)
    assert not missing, f"{doc} names variables nothing reads: {sorted(missing)}"


def test_console_script_commands_exist() -> None:
    commands = {}
    for script, module in (("transaction-api", api_cli), ("notification-consumer", consumer_cli)):
        match = re.search(r"\[([a-z|-]+)\]", module.__doc__ or "")
        assert match, f"{script}'s docstring lists no commands"
        commands[script] = set(match.group(1).split("|"))
    for doc, shown in all_code().items():
        for script, command in re.findall(
                r"\b(transaction-api|notification-consumer) (?!transaction-api|notification-"
                r"consumer)([a-z][a-z-]*)", shown):
            assert command in commands[script], f"{doc}: `{script} {command}` does not exist"


def test_shown_paths_exist() -> None:
    for doc, shown in all_code().items():
        made = set(re.findall(r"\bcp \S+ (\S+)", shown))  # a file the doc has you create
        for path in re.findall(r"(?<![\w/.])((?:deploy|tests|bench|services|shared|tools|docs)"
                               r"/[\w./-]*\w)", shown):
            if not path.startswith("bench/results/") and path not in made:  # make bench, cp
                assert (ROOT / path).exists(), f"{doc} shows {path}, which does not exist"


def test_links_and_anchors_resolve() -> None:
    for path in DOCS:
        for target in re.findall(r"\]\(([^)\s]+)\)", text(path)):
            if re.match(r"[a-z]+:", target):
                continue  # an external URL
            file_part, _, anchor = target.partition("#")
            linked = (path.parent / file_part).resolve() if file_part else path
            relative = str(linked.relative_to(ROOT)) if linked.is_relative_to(ROOT) else target
            if relative in PLANNED and not linked.exists():
                continue
            assert linked.exists(), f"{path.name} links to {target}, which does not exist"
            if anchor:
                headings = re.findall(r"^#+ (.+)$", text(linked), re.MULTILINE)
                assert anchor in {slug(h) for h in headings}, \
                    f"{path.name} links to {target}: no such heading"


def test_no_diary_in_docs() -> None:
    diary = re.compile(r"\b20\d\d-\d\d-\d\d\b|measured on|last round|on branch|\bby helper\b"
                       r"|\d+ (?:passed|tests)\b", re.IGNORECASE)
    for path in DOCS:
        for number, line in enumerate(text(path).splitlines(), 1):
            assert not diary.search(line), f"{path.name}:{number}: history belongs in git: {line}"
